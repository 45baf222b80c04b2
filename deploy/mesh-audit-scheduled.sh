#!/bin/sh
# One scheduled audit: `mesh-audit scan ARGS...` into $MESH_AUDIT_REPORTS_DIR/<UTC timestamp>/,
# compared with the previous run (latest/report.json) when there is one, then latest/ is replaced
# by a copy of this run and runs beyond the newest $MESH_AUDIT_KEEP are removed.
#
# Exit status is mesh-audit's: 0 whatever the findings (no --fail-on is passed), 2 for an input
# error (e.g. a malformed waivers file), 3 when the cluster cannot be read, 5 when
# --fail-on-partial is given and a kind was not read, 6 when --upload failed. A failed run leaves
# latest/ as it was and removes its own folder, except: exit 5 keeps the run's folder (a partial
# report is still evidence) but never makes it latest/ (the next baseline); exit 6 keeps the
# folder and refreshes latest/ (the report is complete, only its upload failed).
#
# Optional environment: MESH_AUDIT_PARTIAL_OK (comma list of kinds expected unreadable, passed as
# --partial-ok), MESH_AUDIT_UPLOAD (s3://bucket/prefix, passed as --upload), and what mesh-audit
# reads itself: MESH_AUDIT_CLUSTER, MESH_AUDIT_NOTIFY_URL, AWS_* for the upload.
set -eu

reports="${MESH_AUDIT_REPORTS_DIR:-/reports}"
formats="${MESH_AUDIT_FORMATS:-json,html,pdf,sarif,junit,csv}"
keep="${MESH_AUDIT_KEEP:-30}"
waivers="${MESH_AUDIT_WAIVERS:-/etc/mesh-audit/waivers.yaml}"

case "$keep" in
  ''|*[!0-9]*|0) echo "mesh-audit-scheduled: MESH_AUDIT_KEEP must be 1 or more, got '$keep'" >&2; exit 2 ;;
esac

stamp="$(date -u +%Y%m%dT%H%M%SZ)"
out="$reports/$stamp"
if [ -e "$out" ]; then
  echo "mesh-audit-scheduled: $out already exists" >&2
  exit 2
fi

set -- scan "$@" --format "$formats" --output-dir "$out" --no-progress
if [ -f "$reports/latest/report.json" ]; then
  set -- "$@" --baseline "$reports/latest/report.json"
fi
if [ -f "$waivers" ]; then
  set -- "$@" --waivers "$waivers"
fi
if [ -n "${MESH_AUDIT_PARTIAL_OK:-}" ]; then
  set -- "$@" --partial-ok "$MESH_AUDIT_PARTIAL_OK"
fi
if [ -n "${MESH_AUDIT_UPLOAD:-}" ]; then
  set -- "$@" --upload "$MESH_AUDIT_UPLOAD"
fi
if [ -n "${MESH_AUDIT_NOTIFY_FORMAT:-}" ]; then
  set -- "$@" --notify-format "$MESH_AUDIT_NOTIFY_FORMAT"
fi

rc=0
mesh-audit "$@" || rc=$?
if [ "$rc" -eq 5 ]; then
  echo "mesh-audit-scheduled: partial audit (exit 5) kept in $out; $reports/latest left as it was" >&2
  exit 5
fi
if [ "$rc" -ne 0 ] && [ "$rc" -ne 6 ]; then
  rm -rf "$out"
  echo "mesh-audit-scheduled: scan failed (exit $rc); $reports/latest left as it was" >&2
  exit "$rc"
fi

# Copy, then swap by renames, so a reader never sees a half-written latest/.
rm -rf "$reports/.latest.new" "$reports/.latest.old"
cp -R "$out" "$reports/.latest.new"
if [ -d "$reports/latest" ]; then
  mv "$reports/latest" "$reports/.latest.old"
fi
mv "$reports/.latest.new" "$reports/latest"
rm -rf "$reports/.latest.old"

# Retention: timestamped folders sort by name; keep the newest $keep.
ls -1d "$reports"/[0-9]*T*Z 2>/dev/null | sort -r | tail -n +"$((keep + 1))" |
  while IFS= read -r dir; do rm -rf "$dir"; done
echo "mesh-audit-scheduled: wrote $out and refreshed $reports/latest"
exit "$rc"
