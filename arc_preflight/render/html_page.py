"""The one page design of every HTML output: a host's report, a log's diagnosis, a fleet.

A page is self-contained: its stylesheet and script are inline, nothing is fetched, and a strict
Content-Security-Policy (``default-src 'none'``, the one style and the one script allowed by
their SHA-256 hashes) keeps a hostile string that slipped through from running or loading
anything. Every text from a report goes through :func:`esc` (control characters made visible,
secrets redacted, then HTML-escaped); only ``https://`` links become links.

The script is small and optional: it sorts tables whose header is clicked, filters the fleet's
host table by status, cause and name, and opens the host card a link points to. Without it the
page is still complete, just unsorted.
"""

from __future__ import annotations

import base64
import hashlib
import html
from typing import Any, Callable, Iterable, Optional, Sequence, Tuple

from ..model import Status
from ..redact import clean, redact

CSS = """
:root{--bg:#f4f6f9;--card:#fff;--ink:#1b2430;--muted:#5b6776;--line:#dde3ea;--head:#0f2a44;
--pass:#1a7f37;--pass-bg:#e6f4ea;--warn:#9a6700;--warn-bg:#fff4d6;--fail:#b42318;
--fail-bg:#fde8e6;--skip:#6b7480;--skip-bg:#eef1f4;--unknown:#6e3fb2;--unknown-bg:#f0e9fb;
--accent:#0b5cad}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);font:14px/1.45 -apple-system,"Segoe UI",
Roboto,"Helvetica Neue",Arial,sans-serif}
header.top{background:var(--head);color:#fff;padding:18px 32px 16px}
header.top h1{margin:0;font-size:22px;font-weight:600;display:flex;align-items:center;gap:12px;
flex-wrap:wrap}
header.top .sub{margin-top:6px;color:#c5d3e2;font-size:13px}
header.top .brand{font-size:12px;letter-spacing:.08em;text-transform:uppercase;color:#8fb3d9;
margin-bottom:6px}
main{padding:20px 32px 40px;max-width:1500px}
section.card{background:var(--card);border:1px solid var(--line);border-radius:8px;
padding:16px 20px;margin:0 0 18px;box-shadow:0 1px 2px rgba(15,42,68,.05)}
section.card>h2{margin:0 0 12px;font-size:16px;font-weight:600;color:var(--head)}
h3{font-size:15px;margin:0 0 6px}
.tiles{display:flex;flex-wrap:wrap;gap:12px;margin:0 0 18px}
.tile{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:10px 16px;
min-width:130px;border-top:4px solid var(--skip)}
.tile .n{font-size:26px;font-weight:600}
.tile .l{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.05em}
.tile.s-pass{border-top-color:var(--pass)}.tile.s-warn{border-top-color:var(--warn)}
.tile.s-fail,.tile.s-error{border-top-color:var(--fail)}
.tile.s-unknown{border-top-color:var(--unknown)}
.badge{display:inline-block;min-width:52px;text-align:center;padding:1px 8px;border-radius:10px;
font-size:12px;font-weight:600;letter-spacing:.03em;border:1px solid transparent}
.badge.s-pass{color:var(--pass);background:var(--pass-bg);border-color:#b7dfc3}
.badge.s-warn{color:var(--warn);background:var(--warn-bg);border-color:#f0d58c}
.badge.s-fail,.badge.s-error{color:var(--fail);background:var(--fail-bg);border-color:#f5b8b1}
.badge.s-skip{color:var(--skip);background:var(--skip-bg)}
.badge.s-unknown{color:var(--unknown);background:var(--unknown-bg);border-color:#d6c4f2}
header.top .badge{font-size:14px;padding:3px 12px;border:0}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{text-align:left;padding:6px 10px;border-bottom:1px solid var(--line);vertical-align:top}
th{background:#f0f3f7;color:var(--head);font-weight:600;white-space:nowrap;position:sticky;top:0}
table.sortable th{cursor:pointer;user-select:none}
table.sortable th::after{content:" \\2195";color:#a3adb9;font-size:11px}
table.sortable th.asc::after{content:" \\2191";color:var(--accent)}
table.sortable th.desc::after{content:" \\2193";color:var(--accent)}
tbody tr:nth-child(even){background:#fafbfc}
tbody tr:hover{background:#eef4fb}
td.num{text-align:right;font-variant-numeric:tabular-nums}
code,.mono{font:12px/1.4 ui-monospace,"SFMono-Regular",Consolas,"Liberation Mono",monospace}
.muted{color:var(--muted)}
.code{font:12px ui-monospace,Consolas,monospace;color:var(--muted);white-space:nowrap}
a{color:var(--accent);text-decoration:none}a:hover{text-decoration:underline}
.diag{border:1px solid var(--line);border-left:5px solid var(--fail);border-radius:6px;
padding:12px 16px;margin:0 0 12px;background:#fff}
.diag.s-warn{border-left-color:var(--warn)}
.diag h3{display:flex;gap:10px;align-items:center;flex-wrap:wrap}
.diag .meta{color:var(--muted);font-size:12px;margin-bottom:6px}
.diag .label{font-weight:600;margin:8px 0 2px;font-size:13px}
.diag ul,.diag ol{margin:2px 0 4px;padding-left:22px}
.diag li{margin:2px 0}
ul.evidence li{font:12px/1.45 ui-monospace,Consolas,monospace;word-break:break-all}
.hostlist{color:var(--muted);font-size:12px}
.filters{display:flex;flex-wrap:wrap;gap:10px;align-items:center;margin:0 0 12px}
.filters label{font-size:12px;color:var(--muted)}
.filters select,.filters input{font:13px inherit;padding:4px 8px;border:1px solid #c3ccd6;
border-radius:5px;background:#fff;min-width:160px}
.filters .shown{margin-left:auto;color:var(--muted);font-size:12px}
details.host{border:1px solid var(--line);border-radius:6px;margin:0 0 8px;background:#fff}
details.host>summary{cursor:pointer;padding:8px 12px;display:flex;gap:10px;align-items:center;
font-weight:600}
details.host[open]>summary{border-bottom:1px solid var(--line);background:#f7f9fb}
details.host .body{padding:10px 14px}
details.facts summary{cursor:pointer;color:var(--accent);font-size:12px}
details.facts .layer{font-weight:600;font-size:12px;margin:6px 0 0;color:var(--head);
text-transform:uppercase;letter-spacing:.04em}
td.nowrap,.nowrap{white-space:nowrap}
dl.kv{display:grid;grid-template-columns:max-content 1fr;gap:3px 14px;margin:4px 0;
font-size:12px}
dl.kv dt{color:var(--muted)}dl.kv dd{margin:0;word-break:break-all}
.grid td.cell{text-align:center;white-space:nowrap}
.scroll{overflow:auto;max-height:640px}
.notice{background:var(--warn-bg);border:1px solid #f0d58c;border-radius:6px;padding:8px 12px;
margin:0 0 12px}
footer{color:var(--muted);font-size:12px;padding:0 32px 24px}
.hidden{display:none}
"""

JS = """
(function(){
"use strict";
function key(cell){var v=cell.getAttribute("data-sort");return v===null?cell.textContent.trim()
.toLowerCase():v;}
function cmp(a,b){var x=parseFloat(a),y=parseFloat(b);
if(!isNaN(x)&&!isNaN(y)&&String(x)===a&&String(y)===b){return x-y;}
return a<b?-1:a>b?1:0;}
document.querySelectorAll("table.sortable").forEach(function(table){
var heads=table.querySelectorAll("thead th");
heads.forEach(function(th,index){th.addEventListener("click",function(){
var body=table.tBodies[0];var rows=Array.prototype.slice.call(body.rows);
var desc=th.classList.contains("asc");
heads.forEach(function(h){h.classList.remove("asc","desc");});
th.classList.add(desc?"desc":"asc");
rows.sort(function(r1,r2){var c=cmp(key(r1.cells[index]),key(r2.cells[index]));
return desc?-c:c;});
var frag=document.createDocumentFragment();rows.forEach(function(r){frag.appendChild(r);});
body.appendChild(frag);});});});
var table=document.getElementById("hosts-table");
if(table){
var st=document.getElementById("f-status"),ca=document.getElementById("f-cause"),
nm=document.getElementById("f-name"),shown=document.getElementById("f-shown");
var apply=function(){var s=st.value,c=ca.value,n=nm.value.trim().toLowerCase(),count=0;
Array.prototype.forEach.call(table.tBodies[0].rows,function(r){
var ok=(!s||r.getAttribute("data-status")===s)&&
(!c||(" "+r.getAttribute("data-causes")+" ").indexOf(" "+c+" ")>=0)&&
(!n||r.getAttribute("data-host").indexOf(n)>=0);
r.classList.toggle("hidden",!ok);if(ok){count++;}});
document.querySelectorAll("details.host").forEach(function(d){
var ok=(!s||d.getAttribute("data-status")===s)&&
(!c||(" "+d.getAttribute("data-causes")+" ").indexOf(" "+c+" ")>=0)&&
(!n||d.getAttribute("data-host").indexOf(n)>=0);d.classList.toggle("hidden",!ok);});
shown.textContent=count+" of "+table.tBodies[0].rows.length+" hosts shown";};
[st,ca].forEach(function(e){e.addEventListener("change",apply);});
nm.addEventListener("input",apply);
document.querySelectorAll("a[data-cause]").forEach(function(a){a.addEventListener("click",
function(){ca.value=a.getAttribute("data-cause");st.value="";apply();});});
apply();}
function openTarget(){var id=decodeURIComponent(location.hash.slice(1));
var el=id&&document.getElementById(id);if(el&&el.tagName==="DETAILS"){el.open=true;
el.classList.remove("hidden");el.scrollIntoView();}}
window.addEventListener("hashchange",openTarget);openTarget();
})();
"""


def _digest(text: str) -> str:
    return base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")


CSP = ("default-src 'none'; "
       f"style-src 'sha256-{_digest(CSS)}'; "
       f"script-src 'sha256-{_digest(JS)}'; "
       "img-src data:; base-uri 'none'; form-action 'none'")


def esc(value: Any) -> str:
    """Any value as safe HTML text: printable, redacted, escaped (quotes too)."""
    if value is None:
        return ""
    return html.escape(redact(clean(str(value))), quote=True)


def esc_clean(value: Any) -> str:
    """Like :func:`esc` for text already redacted where it was read (the fleet loader redacts
    every string it keeps): made printable again and escaped, but not redacted a second time,
    which would cost seconds on a page of 10,000 hosts."""
    if value is None:
        return ""
    return html.escape(clean(str(value)), quote=True)


Escape = Callable[[Any], str]


def status_class(status: Status) -> str:
    return f"s-{status.value}"


def badge(status: Status, text: Optional[str] = None, escape: Escape = esc) -> str:
    return f'<span class="badge {status_class(status)}">{escape(text or status.label)}</span>'


def link(url: str, text: Optional[str] = None, escape: Escape = esc) -> str:
    """A link for an https URL (opened without referrer); anything else stays text."""
    shown = escape(text or url)
    if url.startswith("https://") and not any(ch in url for ch in " \"'<>\\"):
        return f'<a href="{escape(url)}" rel="noopener noreferrer">{shown}</a>'
    return shown


def anchor(prefix: str, name: str) -> str:
    """A stable id for an element, safe whatever ``name`` holds."""
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name.lower())
    return f"{prefix}-{safe[:80]}-{_digest(name)[:6].replace('/', '_').replace('+', '-')}"


def table(headers: Sequence[str], rows: Iterable[str], sortable: bool = True,
          table_id: Optional[str] = None, extra_class: str = "") -> str:
    """A table from already-escaped row HTML (``<tr>...</tr>``)."""
    classes = " ".join(c for c in ("sortable" if sortable else "", extra_class) if c)
    ident = f' id="{esc(table_id)}"' if table_id else ""
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    return (f'<table class="{classes}"{ident}><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table>")


def kv(pairs: Iterable[Tuple[str, Any]], escape: Escape = esc) -> str:
    """A definition list of (name, value); values are escaped here."""
    items = "".join(f"<dt>{escape(k)}</dt><dd>{escape(_plain(v))}</dd>" for k, v in pairs)
    return f'<dl class="kv">{items}</dl>'


def _plain(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None:
        return "-"
    if isinstance(value, (list, tuple)):
        return ", ".join(_plain(v) for v in value) or "-"
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_plain(v)}" for k, v in value.items()) or "-"
    return str(value)


def card(title: str, body: str, ident: Optional[str] = None) -> str:
    ident_attr = f' id="{esc(ident)}"' if ident else ""
    return f'<section class="card"{ident_attr}><h2>{esc(title)}</h2>{body}</section>'


def tile(number: Any, label: str, status: Optional[Status] = None) -> str:
    cls = f" {status_class(status)}" if status is not None else ""
    return f'<div class="tile{cls}"><div class="n">{esc(number)}</div><div class="l">' \
           f"{esc(label)}</div></div>"


def diagnosis_block(status: Status, title: str, category: str, azcm: Sequence[str],
                    explanation: str, evidence: Sequence[str], remedy: Sequence[str],
                    docs: Sequence[str], number: Optional[int] = None,
                    extra: str = "", escape: Escape = esc) -> str:
    """One diagnosis as every page shows it: title, why, evidence, the fix, the docs."""
    codes = f" &middot; {escape(', '.join(azcm))}" if azcm else ""
    prefix = f"{number}. " if number is not None else ""
    parts = [f'<div class="diag {status_class(status)}"><h3>{badge(status, escape=escape)}'
             f"<span>{escape(prefix + title)}</span></h3>",
             f'<div class="meta"><span class="code">{escape(category)}</span>{codes}</div>',
             f"<div>{escape(explanation)}</div>" if explanation else "", extra]
    if evidence:
        items = "".join(f"<li>{escape(e)}</li>" for e in evidence)
        parts.append(f'<div class="label">Evidence</div><ul class="evidence">{items}</ul>')
    if remedy:
        steps = "".join(f"<li>{escape(step)}</li>" for step in remedy)
        parts.append(f'<div class="label">Fix</div><ol>{steps}</ol>')
    if docs:
        links = "".join(f"<li>{link(d, escape=escape)}</li>" for d in docs)
        parts.append(f'<div class="label">Documentation</div><ul>{links}</ul>')
    parts.append("</div>")
    return "".join(parts)


def page(title: str, status: Status, headline: str, subtitle: str, body: str,
         footer: str = "") -> str:
    """The whole document around ``body`` (already-safe HTML)."""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="referrer" content="no-referrer">'
        f"<title>{esc(title)}</title><style>{CSS}</style></head>\n<body>"
        f'<header class="top"><div class="brand">arc-preflight</div>'
        f"<h1>{badge(status)}<span>{esc(headline)}</span></h1>"
        f'<div class="sub">{esc(subtitle)}</div></header>\n'
        f"<main>{body}</main>\n"
        f"<footer>{esc(footer)}</footer>"
        f"<script>{JS}</script></body></html>\n"
    )
