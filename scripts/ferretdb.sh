#!/usr/bin/env bash
# Builds FerretDB (the MongoDB wire protocol over SQLite) from the Go module proxy into
# $(go env GOPATH)/bin, for the MongoDB store adapter's tests; skipped when that version is there.
# `go install ...@version` alone builds a binary that panics at start: FerretDB embeds its version
# from build/version/version.txt, which its release process generates from git and the module
# proxy's copy lacks. So the module is copied out of the cache and that one file written.
set -euo pipefail
VERSION=v1.24.2
BIN="$(go env GOPATH)/bin/ferretdb"
if [ -x "$BIN" ] && "$BIN" --version 2>/dev/null | grep -q "version: $VERSION"; then exit 0; fi
src="$(go mod download -json "github.com/FerretDB/FerretDB@$VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp -r "$src/." "$work/"
chmod -R u+w "$work"
echo "$VERSION" >"$work/build/version/version.txt"
mkdir -p "$(dirname "$BIN")"
(cd "$work" && go build -trimpath -o "$BIN" ./cmd/ferretdb)
echo "built $BIN"
