"""Small Markdown renderings for asset metadata (no extra dependency)."""

from __future__ import annotations

import pandas as pd


def frame_to_markdown(df: pd.DataFrame, max_rows: int = 20) -> str:
    shown = df.head(max_rows)
    cols = [str(c) for c in shown.columns]

    def cell(v: object) -> str:
        text = "" if v is None or (isinstance(v, float) and pd.isna(v)) or v is pd.NA else str(v)
        return text.replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in shown.itertuples(index=False)]
    if len(df) > max_rows:
        lines.append(f"\n… {len(df) - max_rows} more rows")
    return "\n".join(lines)
