#!/usr/bin/env python3
"""A grpcio server with generic handlers (bytes in, bytes out; no generated code).

    python3 grpc_echo.py --port 0 --log FILE [--max-connection-age-ms N]   prints PORT=<n> when ready

Service `test.Echo`, every call appends one JSON line to FILE (method, the `authorization`
metadata it saw, the peer address, and for Hang whether it was cancelled):
  Unary(bytes)            -> b"auth=<authorization>;" + request
  ServerStream(b"<n>")    -> n messages b"msg<i>"
  ClientStream(stream)    -> the messages joined with b"|"
  Bidi(stream)            -> b"echo:" + each message, as each arrives
  Hang(bytes)             -> b"first", then nothing for 30 s; logs HangEnded when the call ends
  Fail(bytes)             -> status PERMISSION_DENIED with details "denied by fixture"
"""
import argparse, json, threading, time
from concurrent import futures
import grpc

lock = threading.Lock()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--log", required=True)
    ap.add_argument("--max-connection-age-ms", type=int, default=0,
                    help="GOAWAY every connection after this long (grpc.max_connection_age_ms)")
    args = ap.parse_args()

    def log(method, ctx, **extra):
        md = dict(ctx.invocation_metadata())
        rec = {"method": method, "authorization": md.get("authorization"), "peer": ctx.peer()}
        rec.update(extra)
        with lock, open(args.log, "a") as f:
            f.write(json.dumps(rec) + "\n")

    def unary(req, ctx):
        log("Unary", ctx)
        auth = dict(ctx.invocation_metadata()).get("authorization", "")
        return b"auth=" + auth.encode() + b";" + req

    def server_stream(req, ctx):
        log("ServerStream", ctx)
        for i in range(int(req or b"0")):
            yield b"msg%d" % i

    def client_stream(it, ctx):
        msgs = list(it)
        log("ClientStream", ctx, count=len(msgs))
        return b"|".join(msgs)

    def bidi(it, ctx):
        log("Bidi", ctx)
        for m in it:
            yield b"echo:" + m

    def hang(req, ctx):
        # The termination callback logs: grpcio never resumes a streaming handler's generator
        # once the call is cancelled, so code after the yield would not run.
        done = threading.Event()

        def ended():
            log("HangEnded", ctx, cancelled=not done.is_set())
        ctx.add_callback(ended)
        log("Hang", ctx)
        yield b"first"
        time.sleep(30)
        done.set()

    def fail(req, ctx):
        log("Fail", ctx)
        ctx.abort(grpc.StatusCode.PERMISSION_DENIED, "denied by fixture")

    handler = grpc.method_handlers_generic_handler("test.Echo", {
        "Unary": grpc.unary_unary_rpc_method_handler(unary),
        "ServerStream": grpc.unary_stream_rpc_method_handler(server_stream),
        "ClientStream": grpc.stream_unary_rpc_method_handler(client_stream),
        "Bidi": grpc.stream_stream_rpc_method_handler(bidi),
        "Hang": grpc.unary_stream_rpc_method_handler(hang),
        "Fail": grpc.unary_unary_rpc_method_handler(fail),
    })
    options = []
    if args.max_connection_age_ms:
        options = [("grpc.max_connection_age_ms", args.max_connection_age_ms),
                   ("grpc.max_connection_age_grace_ms", 10000)]
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=16), options=options)
    server.add_generic_rpc_handlers((handler,))
    port = server.add_insecure_port("127.0.0.1:%d" % args.port)
    server.start()
    print("PORT=%d" % port, flush=True)
    server.wait_for_termination()


if __name__ == "__main__":
    main()
