"""An OTLP trace receiver that decodes the real OTLP protobuf (the stand-in for Tempo).

Serves GET /metrics so that Prometheus scrapes it as the "traces" job, like Tempo.
Accepts ExportTraceServiceRequest over HTTP (POST /v1/traces, protobuf, optionally gzip) and over
gRPC (opentelemetry.proto.collector.trace.v1.TraceService/Export). Spans are kept in memory with
their hex trace id, span id, name, service name and attributes. The receiver can be stopped and
started again on the same ports (tests use that to prove the app survives a dead trace backend).
"""

from __future__ import annotations

import gzip
import threading
import zlib
from concurrent import futures
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.common.v1 import common_pb2


@dataclass(frozen=True)
class ReceivedSpan:
    trace_id: str  # 32 lowercase hex characters, as in exemplars and log lines
    span_id: str  # 16 lowercase hex characters
    name: str
    service_name: str
    attributes: dict[str, Any] = field(default_factory=dict, hash=False)


def _any_value(value: common_pb2.AnyValue) -> Any:
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [_any_value(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: _any_value(kv.value) for kv in value.kvlist_value.values}
    return getattr(value, kind)


def decode_spans(request: trace_service_pb2.ExportTraceServiceRequest) -> list[ReceivedSpan]:
    spans: list[ReceivedSpan] = []
    for resource_spans in request.resource_spans:
        resource = {kv.key: _any_value(kv.value) for kv in resource_spans.resource.attributes}
        service = str(resource.get("service.name", ""))
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                spans.append(
                    ReceivedSpan(
                        trace_id=span.trace_id.hex(),
                        span_id=span.span_id.hex(),
                        name=span.name,
                        service_name=service,
                        attributes={kv.key: _any_value(kv.value) for kv in span.attributes},
                    )
                )
    return spans


class OtlpReceiver:
    """OTLP/HTTP on `http_port` and OTLP/gRPC on `grpc_port` (0: pick free ports at start)."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        http_port: int = 0,
        grpc_port: int = 0,
        grpc_enabled: bool = True,
    ) -> None:
        self.host = host
        self.http_port = http_port
        self.grpc_port = grpc_port
        self.grpc_enabled = grpc_enabled
        self._lock = threading.Lock()
        self._spans: list[ReceivedSpan] = []
        self.requests = 0
        self._http: ThreadingHTTPServer | None = None
        self._http_thread: threading.Thread | None = None
        self._grpc: grpc.Server | None = None

    # -- storage -------------------------------------------------------------------------------
    def _store(self, request: trace_service_pb2.ExportTraceServiceRequest) -> None:
        spans = decode_spans(request)
        with self._lock:
            self._spans.extend(spans)
            self.requests += 1

    def spans(self) -> list[ReceivedSpan]:
        with self._lock:
            return list(self._spans)

    def metrics_text(self) -> str:
        """Prometheus exposition of what was received (so the stand-in can be scraped)."""
        with self._lock:
            requests, spans = self.requests, len(self._spans)
        return (
            "# HELP otlp_receiver_requests_total OTLP export requests received.\n"
            "# TYPE otlp_receiver_requests_total counter\n"
            f"otlp_receiver_requests_total {requests}\n"
            "# HELP otlp_receiver_spans_total Spans received.\n"
            "# TYPE otlp_receiver_spans_total counter\n"
            f"otlp_receiver_spans_total {spans}\n"
        )

    def trace_ids(self) -> set[str]:
        return {s.trace_id for s in self.spans()}

    # -- lifecycle -----------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._http is not None

    @property
    def http_endpoint(self) -> str:
        """Base URL for OTEL_EXPORTER_OTLP_ENDPOINT with protocol http/protobuf."""
        return f"http://{self.host}:{self.http_port}"

    @property
    def grpc_endpoint(self) -> str:
        return f"http://{self.host}:{self.grpc_port}"

    def start(self) -> OtlpReceiver:
        if self.running:
            return self
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                encoding = (self.headers.get("Content-Encoding") or "").lower()
                if self.path.split("?")[0] != "/v1/traces":
                    self._answer(404, b"")
                    return
                try:
                    if encoding == "gzip":
                        body = gzip.decompress(body)
                    elif encoding == "deflate":
                        body = zlib.decompress(body)
                    request = trace_service_pb2.ExportTraceServiceRequest()
                    request.ParseFromString(body)
                except Exception:  # a malformed body is the client's problem: say 400
                    self._answer(400, b"")
                    return
                receiver._store(request)
                reply = trace_service_pb2.ExportTraceServiceResponse().SerializeToString()
                self._answer(200, reply)

            def do_GET(self) -> None:
                if self.path.split("?")[0] == "/metrics":
                    # Scraped as job "traces" locally: the stand-in trace backend's target.
                    self._answer(200, receiver.metrics_text().encode(), "text/plain; version=0.0.4")
                    return
                self._answer(200, b"ok", "text/plain")

            def _answer(
                self, status: int, body: bytes, ctype: str = "application/x-protobuf"
            ) -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._http = ThreadingHTTPServer((self.host, self.http_port), Handler)
        self._http.daemon_threads = True
        self.http_port = int(self._http.server_address[1])
        self._http_thread = threading.Thread(
            target=self._http.serve_forever, name="otlp-http", daemon=True
        )
        self._http_thread.start()

        if self.grpc_enabled:

            class Service(trace_service_pb2_grpc.TraceServiceServicer):
                def Export(self, request: Any, context: Any) -> Any:
                    receiver._store(request)
                    return trace_service_pb2.ExportTraceServiceResponse()

            self._grpc = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
            trace_service_pb2_grpc.add_TraceServiceServicer_to_server(Service(), self._grpc)
            self.grpc_port = self._grpc.add_insecure_port(f"{self.host}:{self.grpc_port}")
            self._grpc.start()
        return self

    def stop(self) -> None:
        """Stop both listeners; keep the spans and ports so start() resumes on the same ports."""
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
            self._http = None
        if self._http_thread is not None:
            self._http_thread.join(timeout=5)
            self._http_thread = None
        if self._grpc is not None:
            self._grpc.stop(grace=0).wait(5)
            self._grpc = None
