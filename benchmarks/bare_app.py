"""The ceiling: a bare FastAPI POST that validates intake's submit body and writes nothing."""
from __future__ import annotations

import sys
import uuid

import uvicorn
from fastapi import FastAPI

from services.intake.entrypoints.schemas import SubmitRequestBody

app = FastAPI()


@app.post("/v1/requests", status_code=201)
async def submit(body: SubmitRequestBody) -> dict[str, str]:
    return {"id": str(uuid.uuid4()), "status": "received", "title": body.title}


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
