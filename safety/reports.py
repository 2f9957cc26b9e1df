"""Evidence reports a person can read: HTML (template), JSON (for a platform's review) and PDF (reportlab).

All three show the same stored report, already limited to what the verifying organisation may
see about other organisations' generations.
"""
from __future__ import annotations

import io
import json
from typing import Any

from django.template.loader import render_to_string

from voicegate.accounts.models import member_name

from .models import Verdict, Verification

VERDICT_TITLES = dict(Verdict.choices)


def export(verification: Verification) -> dict[str, Any]:
    history = []
    item = getattr(verification, "moderation", None)
    if item is not None:
        history = [{"action": e.action, "actor": member_name(e.actor) if e.actor else None, "decision": e.decision,
                    "notes": e.notes, "at": e.created_at.isoformat()} for e in item.history.select_related("actor")]
    return {
        "verification_id": str(verification.pk),
        "organisation": verification.organisation.name,
        "uploaded_by": member_name(verification.uploaded_by) if verification.uploaded_by else None,
        "created_at": verification.created_at.isoformat(),
        "verdict": verification.verdict,
        "verdict_title": VERDICT_TITLES.get(verification.verdict, verification.verdict),
        "report": verification.report,
        "moderation": {"status": item.status, "decision": item.decision or None,
                       "decided_by": member_name(item.decided_by) if item.decided_by else None,
                       "history": history} if item else None,
    }


def render_json(verification: Verification) -> bytes:
    return json.dumps(export(verification), indent=2, ensure_ascii=False, default=str).encode()


def render_html(verification: Verification) -> str:
    return render_to_string("safety/report.html", {"export": export(verification), "verification": verification})


def _rows(report: dict[str, Any]) -> list[tuple[str, str]]:
    watermark, prints, manifest = report.get("watermark", {}), report.get("fingerprint", {}), report.get("manifest", {})
    rows = [("File", f"{report['clip'].get('filename') or '-'} ({report['clip'].get('format')}, "
                     f"{report['clip'].get('duration_s')} s, sha256 {report['clip'].get('sha256')})"),
            ("Watermark", f"detected={watermark.get('detected')} confidence={watermark.get('confidence')} "
                          f"payload={watermark.get('payload')}"),
            ("Fingerprint", f"matched={prints.get('matched')} generation={prints.get('generation_id')} "
                            f"offset={prints.get('offset_s')} s ({prints.get('query_hashes')} hashes)"),
            ("C2PA manifest", f"present={manifest.get('present')} valid={manifest.get('valid')} "
                              f"signature={manifest.get('signature_valid')} trusted={manifest.get('trusted')} "
                              f"hash binding={manifest.get('hash_binding_valid')} "
                              f"generator={manifest.get('claim_generator')}")]
    for label in report.get("labels", []):
        rows.append(("AI label", f"{label.get('where')}: {label.get('text')}"))
    for match in report.get("voice_matches", []):
        ident = match.get("voice_id") or match.get("protected_voice_id")
        rows.append((f"Voice ({match['kind']})", f"{match['name']} [{ident}] similarity {match['similarity']}"
                                                  f"{' FLAGGED' if match.get('flagged') else ''}"))
    synthetic = report.get("synthetic_speech")
    if synthetic:
        model = synthetic.get("model") or {}
        if synthetic.get("judged"):
            spans = ", ".join(f"{a}-{b} s" for a, b in synthetic.get("suspicious_segments") or []) or "none"
            rows.append(("Synthetic speech", f"probability {synthetic.get('probability')} (threshold "
                                             f"{model.get('threshold')}), detected={synthetic.get('detected')}; "
                                             f"suspicious seconds: {spans}; measured miss rate on unseen generators "
                                             f"{model.get('miss_rate')}, false alarms on unseen human recordings "
                                             f"{model.get('false_alarm_rate')}"))
        else:
            rows.append(("Synthetic speech", f"not judged: {synthetic.get('reason')}"))
    generation = (watermark.get("generation") or
                  next((m.get("generation") for m in prints.get("matches", []) if m.get("generation")), None))
    if generation:
        rows.append(("Generation record", ", ".join(f"{k}={v}" for k, v in generation.items() if v is not None)))
    return rows


def render_pdf(verification: Verification) -> bytes:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
    from xml.sax.saxutils import escape

    data = export(verification)
    styles = getSampleStyleSheet()
    buffer = io.BytesIO()
    document = SimpleDocTemplate(buffer, pagesize=A4, title=f"Verification {verification.pk}")
    body = styles["BodyText"]
    story = [Paragraph("voicegate evidence report", styles["Title"]),
             Paragraph(f"Verification {verification.pk} &middot; {escape(data['organisation'])} &middot; "
                       f"{escape(data['created_at'])}", body),
             Spacer(1, 8),
             Paragraph(f"Verdict: <b>{escape(data['verdict_title'])}</b> ({escape(verification.verdict)})",
                       styles["Heading2"]),
             Paragraph(escape(verification.report.get("explanation", "")), body),
             Spacer(1, 8)]
    table = Table([[Paragraph(escape(k), body), Paragraph(escape(v), body)] for k, v in _rows(verification.report)],
                  colWidths=[110, 380])
    table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.25, colors.grey), ("VALIGN", (0, 0), (-1, -1), "TOP")]))
    story.append(table)
    moderation = data.get("moderation")
    if moderation and moderation["history"]:
        story += [Spacer(1, 8), Paragraph("Moderation history", styles["Heading3"])]
        for event in moderation["history"]:
            line = f"{event['at']} {event['actor'] or 'system'}: {event['action']} {event['decision'] or ''} {event['notes']}"
            story.append(Paragraph(escape(line), body))
    story += [Spacer(1, 8), Paragraph("A verdict of no_evidence never means the clip is authentic: watermarks and "
                                      "labels can be removed and only voices known to this platform are compared.",
                                      styles["Italic"])]
    document.build(story)
    return buffer.getvalue()
