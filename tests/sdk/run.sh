#!/usr/bin/env bash
# The official `openai` Python SDK against `evalctl serve`, on each flavor (OpenAI, the Azure
# resource, a Foundry project). Builds
# target/debug/evalctl if needed, makes a virtualenv under target/, installs `openai` with pip,
# starts the emulator for each flavor on a free port, runs tests/sdk/test_openai_sdk.py, stops
# the emulator on exit, and ends with a line `N passed, N failed` (non-zero exit on failure).
set -euo pipefail
cd "$(dirname "$0")/../.."

BIN="${CARGO_TARGET_DIR:-target}/debug/evalctl"
VENV=target/sdk-venv
# A no-op when the binary is fresh; never test a stale one.
cargo build --quiet --bin evalctl
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
fi
"$VENV/bin/python" -c "import openai" 2>/dev/null || "$VENV/bin/pip" install --quiet openai

free_port() {
    "$VENV/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

SERVER_PID=""
cleanup() {
    if [ -n "$SERVER_PID" ]; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
}
trap cleanup EXIT

passed=0
failed=0
for flavor in openai azure foundry; do
    port=$(free_port)
    model_port=$(free_port)
    key="sdk-test-key"
    "$BIN" serve --addr "127.0.0.1:$port" --api-key "$key" \
        --model-endpoint "http://127.0.0.1:$model_port/v1" &
    SERVER_PID=$!
    for _ in $(seq 100); do
        if "$VENV/bin/python" -c "import socket,sys; socket.create_connection(('127.0.0.1', $port), 0.2)" 2>/dev/null; then
            break
        fi
        sleep 0.1
    done
    log=$(mktemp)
    status=0
    "$VENV/bin/python" tests/sdk/test_openai_sdk.py --base-url "http://127.0.0.1:$port" \
        --flavor "$flavor" --api-key "$key" --model-port "$model_port" | tee "$log" || status=$?
    summary=$(tail -n 1 "$log")
    rm -f "$log"
    if [[ "$summary" =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
        passed=$((passed + BASH_REMATCH[1]))
        failed=$((failed + BASH_REMATCH[2]))
    else
        failed=$((failed + 1))
    fi
    [ "$status" -eq 0 ] || [ "$failed" -gt 0 ] || failed=$((failed + 1))
    cleanup
    SERVER_PID=""
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
