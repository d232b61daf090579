"""The ``narratives`` group: persona texts per planning area through litellm."""
