# Sourced by the scripts: `scripts/NAME --help` prints the comment at the top of the script and
# does nothing else (no install, no server).
if [ "${1:-}" = "--help" ] || [ "${1:-}" = "-h" ]; then
  sed -n '2,/^[^#]/{/^#/{s/^# \{0,1\}//;p}}' "$0"
  exit 0
fi
