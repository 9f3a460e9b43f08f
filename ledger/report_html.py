"""The funnel report as one self-contained HTML page: inline SVG charts, no scripts, no network."""

from __future__ import annotations

from html import escape

from ledger.report import Report, StageFigures

FUNNEL_COLOUR = "#2563eb"  # the funnel bars; the browser test looks for this colour
DOT_COLOUR = "#0d9488"
MARK_COLOUR = "#dc2626"
PALETTE = ["#f59e0b", "#8b5cf6", "#ec4899", "#10b981", "#64748b", "#ef4444", "#06b6d4", "#84cc16"]
STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #111827; }
h1 { font-size: 20px; } h2 { font-size: 16px; margin-top: 28px; }
table { border-collapse: collapse; margin: 8px 0; } td, th { padding: 3px 10px; text-align: right; }
th:first-child, td:first-child { text-align: left; } th { border-bottom: 1px solid #9ca3af; }
svg text { font: 12px system-ui, sans-serif; fill: #111827; }
"""


def render_html(r: Report, funnel_stages: list[str] | None = None) -> str:
    """`funnel_stages`: the stages drawn in the funnel, in order (off-ramps left out)."""
    f = r.filters
    title = f"leadflow funnel {f.since:%Y-%m-%d} to {f.until:%Y-%m-%d}"
    scope = ", ".join(f"{k}: {escape(v)}" for k, v in (("playbook", f.playbook), ("channel", f.channel),
                                                       ("campaign", f.campaign), ("team", f.team)) if v)
    stages = [s for s in r.stages if funnel_stages is None or s.stage in funnel_stages]
    if funnel_stages is not None:
        stages.sort(key=lambda s: funnel_stages.index(s.stage))
    parts = [
        f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{escape(title)}</title>",
        f"<style>{STYLE}</style></head><body><h1>{escape(title)}</h1>",
        f"<p>{r.leads} leads{' (' + scope + ')' if scope else ''}. Imported (backfilled) stages are "
        "not counted in entries or conversion.</p>",
        "<h2>Funnel</h2>", funnel_svg(stages),
        "<h2>Time in stage</h2>", time_in_stage_svg([s for s in r.stages if s.time_in_stage_hours]),
        "<h2>Disqualification and loss reasons by channel</h2>", reasons_svg(r),
        "<h2>SLAs</h2>", _sla_table(r), "</body></html>",
    ]
    return "\n".join(parts)


def funnel_svg(stages: list[StageFigures]) -> str:
    width, row, label = 760, 34, 190
    top = max((s.entered for s in stages), default=0) or 1
    bars = []
    for i, s in enumerate(stages):
        w = max(s.entered / top * (width - label - 80), 2)
        x = label + (width - label - 80 - w) / 2
        y = i * row + 4
        rate = f"{s.entered / top * 100:.0f}%"
        bars.append(
            f'<text x="{label - 8}" y="{y + 19}" text-anchor="end">{escape(s.stage)}</text>'
            f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{row - 8}" rx="3" fill="{FUNNEL_COLOUR}">'
            f"<title>{escape(s.stage)}: {s.entered}</title></rect>"
            f'<text x="{width - 70}" y="{y + 19}">{s.entered} ({rate})</text>')
    return _svg(width, len(stages) * row + 8, "funnel", bars)


def time_in_stage_svg(stages: list[StageFigures]) -> str:
    """One strip per stage: a dot per visit, the median and p90 marked."""
    width, row, label, right = 760, 30, 190, 40
    top = max((h for s in stages for h in s.time_in_stage_hours), default=1.0) or 1.0
    span = width - label - right

    def x(hours: float) -> float:
        return label + hours / top * span

    rows = [f'<text x="{label}" y="14">0 h</text>'
            f'<text x="{width - right}" y="14" text-anchor="end">{top:.0f} h</text>']
    for i, s in enumerate(stages):
        y = 30 + i * row
        rows.append(f'<text x="{label - 8}" y="{y + 4}" text-anchor="end">{escape(s.stage)}</text>'
                    f'<line x1="{label}" x2="{width - right}" y1="{y}" y2="{y}" stroke="#e5e7eb"/>')
        rows += [f'<circle cx="{x(h):.1f}" cy="{y}" r="4" fill="{DOT_COLOUR}" fill-opacity="0.6"/>'
                 for h in s.time_in_stage_hours]
        for value, name in ((s.median_hours, "median"), (s.p90_hours, "p90")):
            if value is not None:
                rows.append(f'<line x1="{x(value):.1f}" x2="{x(value):.1f}" y1="{y - 9}" y2="{y + 9}" '
                            f'stroke="{MARK_COLOUR}" stroke-width="2"><title>{name} {value} h</title></line>')
    return _svg(width, 30 + len(stages) * row, "time in stage", rows)


def reasons_svg(r: Report) -> str:
    """A stacked bar per channel, a segment per reason."""
    reasons = sorted({f"{x.outcome}: {x.reason}" for x in r.reasons})
    colour = {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(reasons)}
    channels: dict[str, dict[str, int]] = {}
    for item in r.reasons:
        channels.setdefault(item.channel, {})[f"{item.outcome}: {item.reason}"] = item.count
    width, row, label = 760, 30, 190
    top = max((sum(c.values()) for c in channels.values()), default=0) or 1
    parts = []
    for i, (channel, counts) in enumerate(sorted(channels.items())):
        y, x = i * row + 4, float(label)
        parts.append(f'<text x="{label - 8}" y="{y + 16}" text-anchor="end">{escape(channel)}</text>')
        for name in reasons:
            if counts.get(name):
                w = counts[name] / top * (width - label - 40)
                parts.append(f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{row - 8}" '
                             f'fill="{colour[name]}"><title>{escape(name)}: {counts[name]}</title></rect>')
                x += w
        parts.append(f'<text x="{x + 6:.1f}" y="{y + 16}">{sum(counts.values())}</text>')
    legend_y = len(channels) * row + 16
    for j, name in enumerate(reasons):
        lx, ly = 10 + (j % 3) * 250, legend_y + (j // 3) * 20
        parts.append(f'<rect x="{lx}" y="{ly - 10}" width="12" height="12" fill="{colour[name]}"/>'
                     f'<text x="{lx + 18}" y="{ly}">{escape(name)}</text>')
    return _svg(width, legend_y + ((len(reasons) + 2) // 3) * 20 + 8, "reasons by channel", parts)


def _sla_table(r: Report) -> str:
    def pct(v: float | None) -> str:
        return "-" if v is None else f"{v * 100:.0f}%"

    rows = "".join(
        f"<tr><td>{escape(s.stage)}</td><td>{s.started}</td><td>{pct(s.met_rate)}</td>"
        f"<td>{pct(s.breached_rate)}</td><td>{s.first_action_median_hours or '-'}</td></tr>"
        for s in r.sla)
    return ("<table><tr><th>stage</th><th>started</th><th>met</th><th>breached</th>"
            f"<th>first action, median h</th></tr>{rows}</table>")


def _svg(width: int, height: int, label: str, body: list[str]) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'role="img" aria-label="{label}">{"".join(body)}</svg>')
