#!/bin/sh
# plexus devices: lists the CPU plugin loaded by dlopen (text and JSON), and
# with PLEXUS_PLUGIN_PATH pointing at an empty folder says that no plugin was
# found and exits non-zero.
set -u
plexus="$1"
fail=0
check() { if eval "$2"; then echo "ok: $1"; else echo "FAILED: $1"; fail=1; fi; }

out=$(env -u PLEXUS_PLUGIN_PATH "$plexus" devices 2>&1); rc=$?
check "devices exits 0" "[ $rc -eq 0 ]"
check "devices lists the cpu plugin" "echo \"\$out\" | grep -q 'libplexus-cpu.so'"
check "devices lists the cpu device" "echo \"\$out\" | grep -Eq '^  cpu +cpu'"

json=$(env -u PLEXUS_PLUGIN_PATH "$plexus" devices --json); rc=$?
check "devices --json exits 0" "[ $rc -eq 0 ]"
check "json has the cpu device" "echo \"\$json\" | grep -q '\"id\":\"cpu\"'"
check "json parses" "echo \"\$json\" | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d[\"devices\"][0][\"kernels\"][\"matmul\"]>=1'"

empty=$(mktemp -d)
out=$(PLEXUS_PLUGIN_PATH="$empty" "$plexus" devices 2>&1); rc=$?
check "empty plugin path exits non-zero" "[ $rc -ne 0 ]"
check "empty plugin path says no plugin was found" "echo \"\$out\" | grep -q 'no plugin'"
rmdir "$empty"

out=$("$plexus" --version); rc=$?
check "--version" "[ $rc -eq 0 ] && echo \"\$out\" | grep -q 'plexus 0'"
out=$(PLEXUS_DEBUG=1 env -u PLEXUS_PLUGIN_PATH "$plexus" devices 2>&1 >/dev/null)
check "PLEXUS_DEBUG=1 logs the candidates" "echo \"\$out\" | grep -q 'libplexus-cpu.so: cpu'"

[ $fail -eq 0 ] && echo "cli_devices: passed" || echo "cli_devices: FAILED"
exit $fail
