"""A real aiohttp server on 127.0.0.1 standing in for Ollama, switchable between behaviours."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Literal

from aiohttp import web

Mode = Literal[
    "stream",
    "plain",
    "slow",
    "stall",
    "busy",
    "crash",
    "missing",
    "loading",
    "garbage",
    "array",
    "huge",
    "cut",
    "unfinished",
]

MODELS = ["llama3.2:latest", "qwen2.5-coder:7b"]
CHUNKS = ["Split ", "Store.run ", "into steps."]


@dataclass
class FakeOllama:
    """`mode` decides how /api/chat answers; `chat_bodies` records every raw request body;
    `models=None` makes /api/tags answer without a models list."""

    mode: Mode = "stream"
    models: list[str] | None = field(default_factory=lambda: list(MODELS))
    chat_bodies: list[bytes] = field(default_factory=list)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/api/version", self.version)
        app.router.add_get("/api/tags", self.tags)
        app.router.add_post("/api/chat", self.chat)
        return app

    async def version(self, request: web.Request) -> web.Response:
        return web.json_response({"version": "0.6.2"})

    async def tags(self, request: web.Request) -> web.Response:
        if self.models is None:
            return web.json_response({"models": "none"})
        return web.json_response({"models": [{"name": m, "size": 1} for m in self.models]})

    async def chat(self, request: web.Request) -> web.StreamResponse:
        self.chat_bodies.append(await request.read())
        model = json.loads(self.chat_bodies[-1])["model"]
        if self.mode == "busy":
            return web.json_response(
                {"error": "server busy, please try again"}, status=503, headers={"Retry-After": "7"}
            )
        if self.mode == "crash":
            return web.Response(status=500, text="internal meltdown")
        if self.mode == "missing":
            return web.json_response({"error": f'model "{model}" not found'}, status=404)
        if self.mode == "slow":
            await asyncio.sleep(60)  # the client gives up long before; teardown cancels this
        if self.mode == "plain":
            return web.json_response(
                {"model": model, "message": {"role": "assistant", "content": "".join(CHUNKS)}}
                | {"done": True, "done_reason": "stop", "prompt_eval_count": 12, "eval_count": 3}
            )
        resp = web.StreamResponse(headers={"Content-Type": "application/x-ndjson"})
        await resp.prepare(request)
        if self.mode == "garbage":
            await resp.write(b"<html>this is not json</html>\n")
            return resp
        if self.mode == "array":
            await resp.write(b"[1, 2]\n")
            return resp
        if self.mode == "huge":
            await resp.write(b"x" * (1 << 20) + b"xx\n")
            return resp
        if self.mode == "loading":
            await resp.write(b'{"error":"llama runner is still loading the model"}\n')
            return resp
        for text in CHUNKS:
            line = {
                "model": model,
                "message": {"role": "assistant", "content": text},
                "done": False,
            }
            await resp.write(json.dumps(line).encode() + b"\n")
            if self.mode == "stall":
                await asyncio.sleep(60)
            if self.mode == "cut":
                assert request.transport is not None
                request.transport.abort()  # the connection drops mid-stream
                return resp
        if self.mode != "unfinished":
            final = {"model": model, "message": {"role": "assistant", "content": ""}, "done": True}
            final |= {"done_reason": "stop", "prompt_eval_count": 12, "eval_count": 3}
            await resp.write(json.dumps(final).encode() + b"\n")
        return resp
