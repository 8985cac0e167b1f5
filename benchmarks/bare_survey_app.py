"""The ceiling for surveys: a bare FastAPI POST validating the same body, writing nothing."""
from __future__ import annotations

import sys

import uvicorn
from fastapi import FastAPI

from services.feedback.entrypoints.api import Survey

app = FastAPI()


@app.post("/v1/surveys/{token}", status_code=201)
async def submit(token: str, body: Survey) -> dict[str, object]:
    return {"request_id": token, "recorded": True, "csat": body.csat}


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
