"""`python -m golive.sandbox`: run the embedded staging stack in the foreground."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

from golive.errors import SandboxError
from golive.sandbox.faults import BY_NAME

DEFAULT_STATE_DIR = Path(".golive/sandbox")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="golive sandbox", description=__doc__)
    parser.add_argument("--state-dir", type=Path, default=DEFAULT_STATE_DIR)
    parser.add_argument("--fault", action="append", default=[], choices=sorted(BY_NAME))
    parser.add_argument("--quiet", action="store_true")
    parser.add_argument(
        "--chatwoot-version",
        default=None,
        help="the Chatwoot build the double plays (default: the newest; before 4.11.2 it signs nothing)",
    )
    parser.add_argument(
        "--orgs",
        type=int,
        default=None,
        metavar="N",
        help="how many organisations to seed (default: env GOLIVE_SANDBOX_ORGS, else 2: the pilot "
        "and the second tenant; more are named sandbox-03, sandbox-04, …)",
    )
    parser.add_argument(
        "--latency",
        default=None,
        metavar="SPEC",
        help="latency added per system, a fixed delay or a range: e.g. crm=150ms,model=2-5s "
        "(systems: crm, chatwoot, n8n, model; default: env GOLIVE_SANDBOX_LATENCY; the control "
        "API's PUT /latency changes it at run time)",
    )
    args = parser.parse_args(argv)
    return run_foreground(
        args.state_dir,
        args.fault,
        quiet=args.quiet,
        chatwoot_version=args.chatwoot_version,
        organisations=args.orgs,
        latency=args.latency,
    )


def run_foreground(
    state_dir: Path,
    faults: list[str],
    *,
    quiet: bool = False,
    chatwoot_version: str | None = None,
    organisations: int | None = None,
    latency: str | None = None,
) -> int:
    from golive.sandbox.stack import start_stack

    stopping = threading.Event()
    started = threading.Event()

    def stop(*_: object) -> None:
        # while starting, stop at once (the start undoes what it began); once up, stop cleanly
        stopping.set()
        if not started.is_set():
            raise KeyboardInterrupt

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, stop)
    stack = None
    try:
        stack = start_stack(
            state_dir.resolve(),
            faults=faults,
            chatwoot_version=chatwoot_version,
            organisations=organisations,
            latency=latency,
        )
        started.set()
    except (SandboxError, ValueError) as exc:
        print(f"golive sandbox: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        if stack is not None:  # the stop came as the start returned
            stack.stop()
        print("golive sandbox: stopped while starting", file=sys.stderr)
        return 130
    try:
        if not quiet:
            print("golive sandbox is running (Ctrl-C to stop)")
            for name, url in stack.urls.items():
                print(f"  {name:8} {url}")
            for org in stack.orgs:
                print(f"  profile  {state_dir / 'orgs' / (org.slug + '.toml')}  ({org.name})")
            print(f"  secrets  {state_dir / 'secrets.env'} (mode 600; never commit)")
            if faults:
                print(f"  faults   {', '.join(faults)}")
            if stack.latency.describe():
                added = ", ".join(f"{k} {v}" for k, v in stack.latency.describe().items())
                print(f"  latency  {added}")
            print(f"  run the suite against it: GOLIVE_SANDBOX_STATE={state_dir} pytest features")
        sys.stdout.flush()
        stopping.wait()
    finally:
        stack.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
