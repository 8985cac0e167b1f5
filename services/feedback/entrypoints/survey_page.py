"""The page a survey link opens: `GET /v1/surveys/{token}` (the URL the customer is sent).

The link is the credential, so the page needs no account. It asks for the CSAT score, the NPS and
a comment, and posts them as JSON to the same URL (`POST /v1/surveys/{token}`, the API). A link
with `?csat=N`, as a survey email's one-click rating buttons carry, records that score at once.
Everything is inline (no external scripts or styles: the machines that run this have no internet)
and the page states where it is in `data-state` (ready, sending, sent, failed) for scripts and tests.
"""
from __future__ import annotations

import html

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse

from services.feedback.adapters.survey_links import BadSurveyLink, ExpiredSurveyLink
from services.feedback.entrypoints.api import feedback_of
from services.feedback.service_layer.feedback import Feedback
from shared.errors import NotFound
from shared.limits import SurveyToken

router = APIRouter(prefix="/v1", tags=["feedback"])

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>How did we do?</title>
<style>body{{font-family:system-ui,sans-serif;max-width:34rem;margin:2rem auto;padding:0 1rem}}
fieldset{{border:0;padding:0;margin:0 0 1rem}} label{{margin-right:.6rem}} textarea{{width:100%;min-height:5rem}}
#message{{margin-top:1rem;font-weight:600}}</style></head>
<body data-state="{state}">
<h1>How did we do?</h1>
<p>{intro}</p>
<form id="survey" {hidden}>
<fieldset><legend>How satisfied are you with how we handled your request? (1 to 5)</legend>{csat}</fieldset>
<fieldset><legend>How likely are you to recommend us? (0 to 10)</legend>
<select name="nps"><option value="">No answer</option>{nps}</select></fieldset>
<fieldset><legend>Anything else?</legend><textarea name="comment" maxlength="10000"></textarea></fieldset>
<button type="submit">Send</button>
</form>
<p id="message" role="status">{message}</p>
<script>
(function () {{
  var form = document.getElementById("survey"), message = document.getElementById("message");
  function send(answer) {{
    document.body.dataset.state = "sending";
    fetch(window.location.pathname, {{method: "POST", headers: {{"Content-Type": "application/json"}},
                                      body: JSON.stringify(answer)}})
      .then(function (r) {{ return r.json().then(function (b) {{ return [r.status, b]; }}); }})
      .then(function (res) {{
        if (res[0] === 201) {{ form.hidden = true; message.textContent = "Thank you: your answer is recorded.";
                               document.body.dataset.state = "sent"; }}
        else {{ message.textContent = res[1].detail || "Your answer could not be recorded.";
               document.body.dataset.state = "failed"; }}
      }})
      .catch(function () {{ message.textContent = "Your answer could not be sent; please try again.";
                            document.body.dataset.state = "failed"; }});
  }}
  form.addEventListener("submit", function (event) {{
    event.preventDefault();
    var data = new FormData(form), csat = data.get("csat");
    if (!csat) {{ message.textContent = "Please choose a score from 1 to 5."; return; }}
    var answer = {{csat: Number(csat)}};
    if (data.get("nps")) answer.nps = Number(data.get("nps"));
    if (data.get("comment").trim()) answer.comment = data.get("comment").trim();
    send(answer);
  }});
  var oneClick = {one_click};
  if (oneClick !== null) send({{csat: oneClick}});
}})();
</script></body></html>"""


def page(*, state: str, intro: str, message: str = "", form: bool = True, one_click: int | None = None) -> str:
    csat = "".join(f'<label><input type="radio" name="csat" value="{n}"{" checked" if n == one_click else ""}> {n}'
                   f"</label>" for n in range(1, 6))
    nps = "".join(f'<option value="{n}">{n}</option>' for n in range(0, 11))
    return _PAGE.format(state=state, intro=html.escape(intro), message=html.escape(message), csat=csat, nps=nps,
                        hidden="" if form else "hidden", one_click="null" if one_click is None else one_click)


_HTML = {"text/html": {"schema": {"type": "string"}}}
_PROBLEM = {"application/problem+json": {"schema": {"type": "object"}}}


@router.get("/surveys/{token}", response_class=HTMLResponse, responses={
    404: {"description": "Not a survey link of ours: a page saying so to a browser, else problem details",
          "content": {**_HTML, **_PROBLEM}},
    410: {"description": "The link has expired: a page saying so to a browser, else problem details",
          "content": {**_HTML, **_PROBLEM}}})
async def survey_form(request: Request, token: SurveyToken, csat: int | None = Query(None, ge=1, le=5),
                      f: Feedback = Depends(feedback_of)) -> HTMLResponse:
    """The survey form for a link. A link that is not ours is a 404 and an expired one a 410: a page
    saying so to a browser (it asks for text/html), problem details to anything else."""
    browser = "text/html" in request.headers.get("accept", "")
    try:
        f.links.read(token, f.clock.now())
    except ExpiredSurveyLink as exc:
        if not browser:
            raise HTTPException(410, str(exc)) from exc
        return HTMLResponse(page(state="expired", intro="This survey link has expired.", form=False), 410)
    except BadSurveyLink as exc:
        if not browser:
            raise NotFound(str(exc)) from exc
        return HTMLResponse(page(state="invalid", intro="This survey link is not valid.", form=False), 404)
    return HTMLResponse(page(state="ready", intro="Thank you for letting us help. Two questions, one minute.",
                             one_click=csat))
