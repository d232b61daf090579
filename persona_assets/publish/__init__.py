"""The ``publish`` group: quality gates over the whole dataset, the published release and the Data Docs."""
