# Sourced by .ci/pyenv and .ci/airflow-env: a Python venv built from pinned
# versions, once, by one process at a time.

# base_python WHO VAR: prints the interpreter to build a venv with ($VAR, else
# python3) after checking that it has the venv module. Debian's python3
# without python3-venv gets it through .ci/apt-install (root) or a message.
base_python() {
  local who="$1" var="$2" py="${!2:-python3}" path
  if ! path="$(command -v "$py")"; then
    if [ "$py" = python3 ]; then
      "$(dirname "${BASH_SOURCE[0]}")/apt-install" "$who" python3 python3-venv || return 1
      path="$(command -v python3)" || { echo "$who: python3 still not on PATH" >&2; return 1; }
    else
      echo "$who: $var=$py is not an executable on PATH" >&2; return 1
    fi
  fi
  if ! "$path" -c 'import ensurepip, venv' 2>/dev/null; then
    case "$(readlink -f "$path")" in
      /usr/bin/python3*)
        "$(dirname "${BASH_SOURCE[0]}")/apt-install" "$who" python3-venv || return 1
        "$path" -c 'import ensurepip, venv' || { echo "$who: $path still has no venv module after installing python3-venv" >&2; return 1; } ;;
      *)
        echo "$who: $path has no venv/ensurepip module; use a Python that has (Debian: apt-get install python3-venv; pyenv builds have it) and point $var at it" >&2
        return 1 ;;
    esac
  fi
  echo "$path"
}

# sort in one collation for comm
csort() { LC_ALL=C sort; }

# python_minor PY: "3.11"
python_minor() { "$1" -c 'import sys; print("%d.%d" % sys.version_info[:2])'; }

# ensure_venv WHO VENV PY PINS REQUIRED INSTALL_ARGS...
#   VENV       the venv directory (created or rebuilt; its parent is created)
#   PY         the interpreter to build it with
#   PINS       the file of exact versions (`pip freeze` format) the venv must hold
#   REQUIRED   the lines of PINS that must be installed (space-separated), or "all"
#   INSTALL_ARGS  what `pip install` gets
# An existing venv is kept when its stamp matches, or, without a stamp, when
# `pip freeze` shows only versions of PINS and every REQUIRED one (a venv
# made by hand from the same pins); else it is rebuilt from scratch.
ensure_venv() {
  local who="$1" venv="$2" py="$3" pins="$4" required="$5"
  shift 5
  local stamp="$venv/.shoal-pins" want
  want="$(python_minor "$py") ${*//"$pins"/PINS} $(sha256sum < "$pins" | cut -d' ' -f1)"
  mkdir -p "$(dirname "$venv")"
  exec 8> "$venv.lock"
  if ! flock -n 8; then
    echo "$who: waiting for another process building $venv ..." >&2
    flock 8
  fi
  if [ -x "$venv/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
    exec 8>&-; return 0
  fi
  if [ -x "$venv/bin/python" ] && holds_pins "$venv/bin/python" "$pins" "$required"; then
    echo "$want" > "$stamp"
    exec 8>&-; return 0
  fi
  echo "$who: building $venv with $py ($(python_minor "$py")) from $pins ..." >&2
  local t0=$SECONDS
  "$py" -m venv --clear "$venv" >&2
  if ! "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$@" >&2; then
    echo "$who: pip install $* failed (see above); $venv is left without its stamp, so the next run rebuilds it: rerun once the cause is fixed" >&2
    return 1
  fi
  if ! holds_pins "$venv/bin/python" "$pins" "$required"; then
    echo "$who: $venv holds other versions than $pins:" >&2
    "$venv/bin/python" -m pip freeze --disable-pip-version-check | csort | LC_ALL=C comm -23 - <(csort < "$pins") | sed 's/^/  /' >&2
    echo "$who: update $pins (see its header) and rerun" >&2
    return 1
  fi
  echo "$want" > "$stamp"
  echo "$who: built $venv in $((SECONDS - t0)) s" >&2
  exec 8>&-
}

# holds_pins PY PINS REQUIRED: every installed distribution is pinned in PINS
# at that version, and the REQUIRED lines ("all": every line of PINS) are installed.
holds_pins() {
  local freeze need
  freeze="$("$1" -m pip freeze --disable-pip-version-check 2>/dev/null | csort)" || return 1
  [ -z "$(LC_ALL=C comm -23 <(echo "$freeze") <(grep -v '^#' "$2" | sed '/^$/d' | csort))" ] || return 1
  if [ "$3" = all ]; then need="$(grep -v '^#' "$2" | sed '/^$/d' | csort)"; else need="$(tr ' ' '\n' <<< "$3" | csort)"; fi
  [ -z "$(LC_ALL=C comm -13 <(echo "$freeze") <(echo "$need"))" ]
}
