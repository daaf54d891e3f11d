#!/usr/bin/env bash
# Headless Chromium for tests/test_report_html.py (Debian's package, as root); the test skips
# without it.
set -euo pipefail
command -v chromium >/dev/null && exit 0
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium
