#!/usr/bin/env python3
"""A grpcio client for the test.Echo service of grpc_echo.py (generic calls, bytes).

    python3 grpc_call.py --target HOST:PORT --call Unary|ServerStream|ClientStream|Bidi|Hang|Fail
                         [--arg TEXT]... [--timeout S] [--path /svc/Method]

Prints one JSON line: {"code": "OK", "details": ..., "responses": [text...]}. Bidi sends each
--arg only after the answer to the previous one arrived (so it needs a full-duplex path). Hang
reads the first message and then cancels the call.
"""
import argparse, json, queue, time
import grpc


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--target", required=True)
    ap.add_argument("--call", required=True)
    ap.add_argument("--arg", action="append", default=[])
    ap.add_argument("--timeout", type=float, default=20)
    ap.add_argument("--path", help="method path instead of /test.Echo/<call>")
    ap.add_argument("--pace-ms", type=int, default=0, help="Bidi: pause between messages")
    ap.add_argument("--repeat", type=int, default=1, help="each message is its --arg repeated this often")
    ap.add_argument("--summary", action="store_true", help="print lengths of the responses, not their text")
    args = ap.parse_args()
    msgs = [a.encode() * args.repeat for a in args.arg]
    ch = grpc.insecure_channel(args.target)
    path = args.path or "/test.Echo/" + args.call
    out = {"code": "OK", "details": None, "responses": []}
    try:
        if args.call in ("Unary", "Fail"):
            r = ch.unary_unary(path)(msgs[0] if msgs else b"", timeout=args.timeout)
            out["responses"] = [r.decode()]
        elif args.call == "ServerStream":
            for r in ch.unary_stream(path)(msgs[0], timeout=args.timeout):
                out["responses"].append(r.decode())
        elif args.call == "ClientStream":
            r = ch.stream_unary(path)(iter(msgs), timeout=args.timeout)
            out["responses"] = [r.decode()]
        elif args.call == "Bidi":
            q = queue.Queue()

            def requests():
                while True:
                    m = q.get()
                    if m is None:
                        return
                    yield m

            call = ch.stream_stream(path)(requests(), timeout=args.timeout)
            for m in msgs:
                time.sleep(args.pace_ms / 1000)
                q.put(m)
                out["responses"].append(next(call).decode())
            q.put(None)
            for r in call:
                out["responses"].append(r.decode())
        elif args.call == "Hang":
            call = ch.unary_stream(path)(b"", timeout=args.timeout)
            out["responses"].append(next(call).decode())
            call.cancel()
            out["code"] = "CANCELLED_BY_CLIENT"
    except grpc.RpcError as e:
        out["code"] = e.code().name
        out["details"] = e.details()
    if args.summary:
        out["responses"] = [str(len(r)) + ":" + r[-8:] for r in out["responses"]]
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
