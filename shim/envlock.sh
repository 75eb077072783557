# shellcheck shell=dash disable=SC2016,SC1007
# (dash is the strictest of the shells it runs in; awk programs are single-quoted on purpose, and
# `local a= b=` declares empty locals.) Checked by scripts/test.sh.
# envlock module shim: defines `module` and `ml` for bash, zsh and POSIX sh (dash), so job
# scripts written for Lmod load envlock environments. Source it, or eval `envlock shim SHELL`.
# Rules kept throughout (docs/modules.md): text read from files or arguments is never eval'd;
# every module name is checked against the module-name characters before it is used; nothing
# fails under `set -e`/`set -u`; PATH may hold spaces; an error leaves the caller's state as it was.
# State lives in exported variables so sub-shells and srun inherit it:
#   ENVLOCK_LOADED       loaded modules, NAME/VERSION, colon-separated, in load order
#   _ENVLOCK_PATH_ADDED  the wrapper directory each of them put on PATH, in the same order
#   _ENVLOCK_SITE_AT     how many site modules (LOADEDMODULES) each of them came after, in order
# The shim never runs a command a loaded module may wrap: awk, cat, mkdir, mktemp and rm are the
# host's, found once when the shim is sourced, on PATH without any module's wrapper directory.

# Prints one line to stderr, prefixed like every envlock message.
_envlock_err() {
  printf 'envlock: %s\n' "$*" >&2
}

# Where Lmod-style listings go: stderr, as Lmod does, or stdout when LMOD_REDIRECT=yes.
_envlock_out() {
  if [ "${LMOD_REDIRECT-}" = yes ]; then printf '%s\n' "$@"; else printf '%s\n' "$@" >&2; fi
}

# True when $1 is a module name envlock accepts: parts of [A-Za-z0-9._+-] joined by `/`, not
# starting with `-` (it would read as an option), no `.` or `..` parts.
_envlock_valid() {
  case $1 in
    '' | *[!A-Za-z0-9._+/-]* | -* | /* | */ | *//* | . | .. | ./* | ../* | */. | */.. | */./* | */../*) return 1 ;;
  esac
  return 0
}

# Takes the next module tree off _el_rest (start it as "$ENVLOCK_MODULEPATH:") into _el_root;
# status 1 when none is left. Only absolute entries count, as docs/modules.md says. Callers
# declare both variables local, so loops over the trees never disturb each other.
_envlock_next_root() {
  while [ -n "${_el_rest-}" ]; do
    _el_root=${_el_rest%%:*}
    _el_rest=${_el_rest#*:}
    case $_el_root in /*) return 0 ;; esac
  done
  return 1
}

# Sets _el_r to the host's command $1: the first on PATH outside the wrapper directories of
# loaded modules, so a module that wraps it never runs the shim's own helpers in its image.
_envlock_host_tool() {
  local rest="${PATH-}:" dir
  _el_r=$1
  while [ -n "$rest" ]; do
    dir=${rest%%:*}
    rest=${rest#*:}
    case $dir in /*) ;; *) continue ;; esac
    case ":${_ENVLOCK_PATH_ADDED-}:" in *":${dir%/bin}:"*) continue ;; esac
    case $dir in */.envlock/*/bin) continue ;; esac
    if [ -f "$dir/$1" ] && [ -x "$dir/$1" ]; then
      _el_r="$dir/$1"
      return 0
    fi
  done
  return 0
}

# Calls the envlock CLI (the slow path: show, spider, hand-made modules, unknown names), with
# the Node that printed the shim when there is one, never a `node` a loaded module wraps.
_envlock_cli() {
  if [ -n "${ENVLOCK_NODE-}" ]; then "$ENVLOCK_NODE" "${ENVLOCK_CLI:-envlock}" "$@"; else "${ENVLOCK_CLI:-envlock}" "$@"; fi
}

# Looks $1 up by its name part in ROOT/.envlock-index.d/NAME of each tree, with `read` alone (no
# process): NAME/VERSION, or NAME's default, in the first tree that has it. On a hit, sets
# _el_look to the five-line record _envlock_resolve_all gives; aliases need that function.
_envlock_lookup() {
  local req="$1" _el_rest="${ENVLOCK_MODULEPATH-}:" _el_root root f line n v d h p c prep
  while _envlock_next_root; do
    root=$_el_root
    f="$root/.envlock-index.d/${req%%/*}"
    [ -r "$f" ] || continue
    {
      line=
      IFS= read -r line || :
      if [ "$line" = '# envlock-module-index 1' ]; then
        while IFS=' ' read -r n v d h p c prep; do
          _envlock_valid "$n/$v" || continue
          if [ "$n/$v" = "$req" ] || { [ "$n" = "$req" ] && [ "$d" = D ]; }; then
            _el_look="found$_el_nl$n/$v$_el_nl$h$_el_nl$root/$n/$v$_el_nl$prep$_el_nl"
            return 0
          fi
        done
      fi
    } <"$f"
  done
  return 1
}

# Resolves every name in $@ against the index of every tree, in one awk run (no per-line shell
# work): NAME/VERSION exactly, else NAME's default, in the first tree that has it; else a
# `provides:` alias, exact first, then by its name part, in the first tree with any match.
# Sets _el_res to five lines per name: kind (found, ambiguous or none), NAME/VERSION, lock
# digest, module directory, prepared directory. Names and values reach awk through the
# environment, never through its program text.
_envlock_resolve_all() {
  local reqs="$*" _el_rest="${ENVLOCK_MODULEPATH-}:" _el_root
  set --
  while _envlock_next_root; do
    [ -r "$_el_root/.envlock-index" ] && set -- "$@" "$_el_root/.envlock-index"
  done
  _el_res=
  if [ $# -gt 0 ]; then
    _el_res=$(_EL_REQ=$reqs "$_ENVLOCK_AWK" '
      BEGIN { n = split(ENVIRON["_EL_REQ"], req, " ") }
      FNR == 1 { ok = ($0 == "# envlock-module-index 1"); root = FILENAME; sub(/\/\.envlock-index$/, "", root); t++; next }
      !ok || NF < 7 { next }
      {
        label = $1 "/" $2; prep = $0
        for (f = 1; f <= 6; f++) sub(/^[^ ]* /, "", prep)
        rec = label "\n" $4 "\n" root "/" label "\n" prep
        p = "," $5 ","
        for (i = 1; i <= n; i++) {
          r = req[i]
          if (!(r in hit) && (label == r || ($1 == r && $3 == "D"))) hit[r] = rec
          if (index(p, "," r ",")) { if (!((r, t) in a1)) a1rec[r, t] = rec; a1[r, t]++ }
          else if (index(r, "/") == 0 && index(p, "," r "/")) { if (!((r, t) in a2)) a2rec[r, t] = rec; a2[r, t]++ }
        }
      }
      function alias(r, count, recs,   k) {
        for (k = 1; k <= t; k++) if ((r, k) in count) {
          if (count[r, k] == 1) { print "found"; print recs[r, k] } else { print "ambiguous\n\n\n\n" }
          return 1
        }
        return 0
      }
      END {
        for (i = 1; i <= n; i++) {
          r = req[i]
          if (r in hit) { print "found"; print hit[r] }
          else if (!alias(r, a1, a1rec) && !alias(r, a2, a2rec)) print "none\n\n\n\n"
        }
      }' "$@") || _el_res=
  fi
  return 0
}

# Pops the first line of _el_res into _el_r.
_envlock_take() {
  _el_r=${_el_res%%"$_el_nl"*}
  case $_el_res in *"$_el_nl"*) _el_res=${_el_res#*"$_el_nl"} ;; *) _el_res= ;; esac
}

# True when some tree has a directory for $1's name but no index line for it: a module made by
# hand, or one whose index is missing or older than this shim; the CLI resolves those.
_envlock_needs_cli() {
  local _el_rest="${ENVLOCK_MODULEPATH-}:" _el_root
  while _envlock_next_root; do
    [ -d "$_el_root/${1%%/*}" ] && return 0
  done
  return 1
}

# Checks a resolved module against the files on disk (shell builtins only): a missing prepared
# directory or image, or a lock or declaration newer than the spec, sends it to the CLI, so a
# stale index can never make `load` run what the lock no longer says. Sets _el_prep.
_envlock_fresh() {
  local mdir="$1" prep="$2"
  case $prep in
    '' | - | *:*) return 1 ;;
    /*) _el_prep=$prep ;;
    *) _el_prep="$mdir/$prep" ;;
  esac
  case $mdir in *:*) return 1 ;; esac
  [ -f "$_el_prep/spec" ] && [ -d "$_el_prep/bin" ] && [ -r "$mdir/envlock.lock" ] && [ -r "$_el_prep/envlock.lock" ] &&
    [ -e "$_el_prep/rootfs" ] || return 1
  if [ "$mdir/envlock.lock" -nt "$_el_prep/spec" ] || [ "$mdir/envlock.yaml" -nt "$_el_prep/spec" ] ||
    [ "$mdir/envlock.toml" -nt "$_el_prep/spec" ]; then
    return 1
  fi
  # The lock must be the very one the spec was made from (kept beside it), whatever the mtimes say;
  # ENVLOCK_MODULE_VERIFY=mtime trusts the mtime check alone.
  [ "${ENVLOCK_MODULE_VERIFY-}" = mtime ] || _envlock_same_file "$mdir/envlock.lock" "$_el_prep/envlock.lock" || return 1
  return 0
}

# True when two text files hold the same lines (compared with `read`, no process started;
# bash and zsh read each file whole with one `read -d ''`, other shells line by line).
_envlock_same_file() {
  local a= b= ea eb
  if [ -n "${BASH_VERSION-}${ZSH_VERSION-}" ]; then
    # shellcheck disable=SC3045 # bash and zsh only
    IFS= read -r -d '' a <"$1" || :
    # shellcheck disable=SC3045
    IFS= read -r -d '' b <"$2" || :
    [ "$a" = "$b" ]
    return
  fi
  {
    while :; do
      a= b= ea=0 eb=0
      IFS= read -r a <&3 || ea=1
      IFS= read -r b <&4 || eb=1
      [ "$a" = "$b" ] && [ "$ea" = "$eb" ] || return 1
      [ "$ea" = 0 ] || return 0
    done
  } 3<"$1" 4<"$2"
}

# The slow path for one name: the CLI checks the lock, prepares wrappers (in the module or a
# cache) and prints one index line with an absolute prepared directory; nothing is eval'd.
# Sets _el_label and _el_prep.
_envlock_find_slow() {
  local out n v d h p c prep
  out=$(_envlock_cli module resolve -- "$1") || return 1
  # shellcheck disable=SC2034 # d h p c: fields of the index line that are not needed here
  IFS=' ' read -r n v d h p c prep <<EOF
$out
EOF
  if ! _envlock_valid "$n/$v"; then
    _envlock_err "the envlock CLI answered with an unexpected line for \"$1\""
    return 1
  fi
  case $prep in /*) ;; *) _envlock_err "the envlock CLI gave no prepared directory for \"$1\""; return 1 ;; esac
  case $prep in *:*) _envlock_err "the wrapper directory of $n/$v holds a colon, which PATH cannot hold"; return 1 ;; esac
  _el_label="$n/$v"
  _el_prep=$prep
  return 0
}

# Sets _el_idx to the 1-based position of $1 (NAME or NAME/VERSION) in ENVLOCK_LOADED, or 0.
_envlock_loaded_at() {
  local rest="${ENVLOCK_LOADED-}" item i=0
  _el_idx=0
  _el_item=
  while [ -n "$rest" ]; do
    item=${rest%%:*}
    case $rest in *:*) rest=${rest#*:} ;; *) rest= ;; esac
    i=$((i + 1))
    if [ "$item" = "$1" ] || [ "${item%/*}" = "$1" ]; then
      _el_idx=$i
      _el_item=$item
      return 0
    fi
  done
  return 0
}

# Sets _el_r to the colon list $1 without its $2-th item (1-based); _el_got to the item.
_envlock_list_drop() {
  local rest="$1" item i=0 out= first=1
  _el_got=
  while [ -n "$rest" ]; do
    item=${rest%%:*}
    case $rest in *:*) rest=${rest#*:} ;; *) rest= ;; esac
    i=$((i + 1))
    if [ "$i" -eq "$2" ]; then
      _el_got=$item
      continue
    fi
    if [ -n "$first" ]; then out=$item; first=; else out="$out:$item"; fi
  done
  _el_r=$out
}

# Removes the first PATH element equal to $1 (exactly the one load prepended).
_envlock_path_remove() {
  local p=":${PATH-}:"
  case $p in
    *":$1:"*) p="${p%%":$1:"*}:${p#*":$1:"}" ;;
    *) return 0 ;;
  esac
  p=${p#:}
  PATH=${p%:}
}

# Unloads the $1-th loaded module (1-based) and its PATH entry.
_envlock_unload_at() {
  _envlock_list_drop "${_ENVLOCK_SITE_AT-}" "$1"
  _ENVLOCK_SITE_AT=$_el_r
  _envlock_list_drop "${ENVLOCK_LOADED-}" "$1"
  ENVLOCK_LOADED=$_el_r
  _envlock_list_drop "${_ENVLOCK_PATH_ADDED-}" "$1"
  _ENVLOCK_PATH_ADDED=$_el_r
  [ -n "$_el_got" ] && _envlock_path_remove "$_el_got/bin"
  export ENVLOCK_LOADED _ENVLOCK_PATH_ADDED _ENVLOCK_SITE_AT PATH
  return 0
}

# Sets _el_n to the number of items in the colon list $1.
_envlock_count() {
  local rest="$1"
  _el_n=0
  while [ -n "$rest" ]; do
    _el_n=$((_el_n + 1))
    case $rest in *:*) rest=${rest#*:} ;; *) rest= ;; esac
  done
}

# The state a failed command puts back (swap, restore): saved by _envlock_keep, restored by _envlock_back.
_envlock_keep() {
  _el_kept="${ENVLOCK_LOADED-}$_el_nl${_ENVLOCK_PATH_ADDED-}$_el_nl${_ENVLOCK_SITE_AT-}$_el_nl${PATH-}"
}
_envlock_back() {
  ENVLOCK_LOADED=${_el_kept%%"$_el_nl"*}
  _el_kept=${_el_kept#*"$_el_nl"}
  _ENVLOCK_PATH_ADDED=${_el_kept%%"$_el_nl"*}
  _el_kept=${_el_kept#*"$_el_nl"}
  _ENVLOCK_SITE_AT=${_el_kept%%"$_el_nl"*}
  PATH=${_el_kept#*"$_el_nl"}
  export ENVLOCK_LOADED _ENVLOCK_PATH_ADDED _ENVLOCK_SITE_AT PATH
}

# Adds one resolved module (label, prepared dir); a loaded other version is replaced, as Lmod does.
_envlock_apply_load() {
  local label="$1" prep="$2"
  _envlock_loaded_at "$label"
  [ "$_el_idx" -gt 0 ] && return 0
  _envlock_loaded_at "${label%/*}"
  if [ "$_el_idx" -gt 0 ]; then
    _envlock_out '' 'The following have been reloaded with a version change:' "  1) $_el_item => $label" ''
    _envlock_unload_at "$_el_idx"
  fi
  PATH="$prep/bin${PATH:+:$PATH}"
  # Where it stands among the site's modules, so `list` and `save` keep one load order.
  _envlock_count "${LOADEDMODULES-}"
  _ENVLOCK_SITE_AT="${ENVLOCK_LOADED:+${_ENVLOCK_SITE_AT-}:}$_el_n"
  ENVLOCK_LOADED="${ENVLOCK_LOADED:+$ENVLOCK_LOADED:}$label"
  _ENVLOCK_PATH_ADDED="${_ENVLOCK_PATH_ADDED:+$_ENVLOCK_PATH_ADDED:}$prep"
  export ENVLOCK_LOADED _ENVLOCK_PATH_ADDED _ENVLOCK_SITE_AT PATH
  return 0
}

# module load NAME...: resolves every name first, so one bad name loads nothing.
_envlock_load() {
  local plan= foreign= unknown= bad= req kind label hex mdir prep
  for req in "$@"; do
    if ! _envlock_valid "$req"; then
      bad=1
      _envlock_err "module name \"$req\" holds characters module names never hold (letters, digits, . _ + - and / only)"
    fi
  done
  [ -z "$bad" ] || return 1
  [ $# -gt 0 ] || { _envlock_err '`module load` needs a module name'; return 1; }
  # Names found by their own index file need no process; any other name (an alias, a module the
  # index does not list) sends them all through the one awk run that knows every rule.
  _el_res=
  for req in "$@"; do
    if _envlock_lookup "$req"; then _el_res="$_el_res$_el_look"; else _el_res=; _envlock_resolve_all "$@"; break; fi
  done
  for req in "$@"; do
    _envlock_take; kind=$_el_r
    _envlock_take; label=$_el_r
    _envlock_take; hex=$_el_r
    _envlock_take; mdir=$_el_r
    _envlock_take; prep=$_el_r
    case $kind in
      found)
        if _envlock_fresh "$mdir" "$prep"; then
          plan="$plan$label$_el_nl$hex$_el_nl$mdir$_el_nl$_el_prep$_el_nl"
        else
          _envlock_find_slow "$req" || return 1
          plan="$plan$_el_label$_el_nl-$_el_nl-$_el_nl$_el_prep$_el_nl"
        fi ;;
      ambiguous)
        _envlock_err "module name \"$req\" is provided by several modules; load one by its full NAME/VERSION (see \`module spider $req\`)"
        return 1 ;;
      *)
        if _envlock_needs_cli "$req"; then
          _envlock_find_slow "$req" || return 1
          plan="$plan$_el_label$_el_nl-$_el_nl-$_el_nl$_el_prep$_el_nl"
        elif [ -n "${_ENVLOCK_FALLTHROUGH-}" ]; then
          foreign="$foreign $req"
        else
          unknown="$unknown $req"
        fi ;;
    esac
  done
  if [ -n "$unknown" ]; then
    # shellcheck disable=SC2086 # checked names: no spaces or globs
    _envlock_unknown $unknown
    return 1
  fi
  if [ -n "$foreign" ]; then
    # shellcheck disable=SC2086 # checked names
    _envlock_site_load $foreign || return 1
  fi
  while [ -n "$plan" ]; do
    _el_res=$plan
    _envlock_take; label=$_el_r
    _envlock_take; _envlock_take; _envlock_take; prep=$_el_r
    plan=$_el_res
    _envlock_apply_load "$label" "$prep"
  done
  return 0
}

# Lmod's message for names no tree knows, with suggestions from the CLI when it is reachable:
# one did-you-mean over envlock's modules and the site's (_el_site_names, from _envlock_site_names).
_envlock_unknown() {
  local quoted= req
  _ENVLOCK_SITE_NAMES=${_el_site_names-}
  export _ENVLOCK_SITE_NAMES
  if _envlock_cli module unknown -- "$@" >&2 2>/dev/null; then unset _ENVLOCK_SITE_NAMES; return 0; fi
  unset _ENVLOCK_SITE_NAMES
  for req in "$@"; do quoted="$quoted \"$req\""; done
  _envlock_err "The following module(s) are unknown:$quoted"
  printf '%s\n' '' 'Please check the spelling or version number. Also try "module spider ..."' >&2
  return 0
}

# True when the site's module command is Lmod, which envlock can ask for listings to merge.
_envlock_is_lmod() {
  [ -n "${_ENVLOCK_FALLTHROUGH-}" ] && [ -n "${LMOD_CMD-}" ] && [ -x "${LMOD_CMD-}" ]
}

# Sets _el_site to what the site's module command prints for a listing ($@), captured so it is
# never paged on its own (Lmod pages only a terminal) and can be merged with envlock's part.
_envlock_site_listing() {
  _el_site=
  [ -n "${_ENVLOCK_FALLTHROUGH-}" ] || return 0
  if _envlock_is_lmod; then
    _el_site=$(LMOD_REDIRECT=no LMOD_PAGER=none "$LMOD_CMD" sh "$@" 2>&1 >/dev/null) || :
  else
    _el_site=$(_envlock_fallthrough "$@" 2>&1 >/dev/null) || :
  fi
  return 0
}

# Sets _el_site_names to every module name the site offers (Lmod's terse avail), for suggestions.
_envlock_site_names() {
  _el_site_names=
  _envlock_is_lmod || return 0
  _envlock_site_listing -t avail
  _el_site_names=$(printf '%s\n' "$_el_site" | "$_ENVLOCK_AWK" '/^[^ ]*[^:\/]$/ { sub(/\(.*\)$/, ""); print }') || _el_site_names=
}

# Loads names no envlock tree knows through the site's command. With Lmod its messages are
# held back until it is done: when it only failed on names nobody knows, envlock prints one
# unknown-module message with suggestions from both sides instead of Lmod's own.
_envlock_site_load() {
  local code= msgs= tmp st=0 names
  if ! _envlock_is_lmod; then _envlock_fallthrough load "$@"; return; fi
  tmp=$("$_ENVLOCK_MKTEMP" 2>/dev/null) || { _envlock_fallthrough load "$@"; return; }
  code=$("$LMOD_CMD" sh load "$@" 2>"$tmp") || st=$?
  msgs=$("$_ENVLOCK_CAT" -- "$tmp" 2>/dev/null) || msgs=
  "$_ENVLOCK_RM" -f -- "$tmp"
  case $code in *false | *false"$_el_nl") st=1 ;; esac
  if [ "$st" -ne 0 ]; then
    case $msgs in
      *'module(s) are unknown'*)
        names=$(printf '%s\n' "$msgs" | "$_ENVLOCK_AWK" '/are unknown/ { on = 1 } on { while (match($0, /"[^"]*"/)) { print substr($0, RSTART + 1, RLENGTH - 2); $0 = substr($0, RSTART + RLENGTH) } } /^$/ { if (on) exit }')
        if [ -n "$names" ]; then
          _envlock_site_names
          # shellcheck disable=SC2086 # names Lmod quoted back: checked module names
          _envlock_unknown $names
          return 1
        fi ;;
    esac
    [ -z "$msgs" ] || printf '%s\n' "$msgs" >&2
    return 1
  fi
  [ -z "$msgs" ] || printf '%s\n' "$msgs" >&2
  eval "$code"
}

# module unload NAME...: names envlock did not load go to the site's module command.
_envlock_unload() {
  local req foreign=
  for req in "$@"; do
    if ! _envlock_valid "$req"; then
      _envlock_err "module name \"$req\" holds characters module names never hold (letters, digits, . _ + - and / only)"
      return 1
    fi
  done
  for req in "$@"; do
    _envlock_loaded_at "$req"
    if [ "$_el_idx" -gt 0 ]; then
      _envlock_unload_at "$_el_idx"
    elif [ -n "${_ENVLOCK_FALLTHROUGH-}" ]; then
      foreign="$foreign $req"
    fi
  done
  # shellcheck disable=SC2086
  [ -z "$foreign" ] || _envlock_fallthrough unload $foreign || return 1
  return 0
}

# module purge: unloads every envlock module, newest first, then the site's.
_envlock_purge() {
  local n
  while [ -n "${ENVLOCK_LOADED-}" ]; do
    n=1
    _el_r=$ENVLOCK_LOADED
    while case $_el_r in *:*) true ;; *) false ;; esac; do _el_r=${_el_r#*:}; n=$((n + 1)); done
    _envlock_unload_at "$n"
  done
  if [ -n "${_ENVLOCK_FALLTHROUGH-}" ]; then _envlock_fallthrough purge || return 1; fi
  return 0
}

# Prints words in columns, Lmod style, through _envlock_out (for the few loaded modules).
_envlock_columns() {
  local width=0 w cols line= col=0 item pad
  for item in "$@"; do [ ${#item} -gt "$width" ] && width=${#item}; done
  w=${COLUMNS:-80}
  [ "$w" -ge 20 ] 2>/dev/null || w=80
  cols=$(((w - 3) / (width + 3)))
  [ "$cols" -ge 1 ] || cols=1
  for item in "$@"; do
    col=$((col + 1))
    line="$line   $item"
    if [ "$((col % cols))" -eq 0 ] || [ "$col" -eq $# ]; then
      _envlock_out "$line"
      line=
    else
      pad=${#item}
      while [ "$pad" -lt "$width" ]; do line="$line "; pad=$((pad + 1)); done
    fi
  done
  return 0
}

# module list [-t]: one list in load order, the site's modules (LOADEDMODULES, which Lmod and
# Environment Modules keep) and envlock's interleaved by where each envlock module was loaded;
# envlock's are marked (E) when there is a site command beside them.
_envlock_list() {
  local rest="${ENVLOCK_LOADED-}" at="${_ENVLOCK_SITE_AT-}" site= item n i=0 used=0 terse= mark=
  [ "${1-}" = -t ] || [ "${1-}" = --terse ] && terse=1
  if [ -n "${_ENVLOCK_FALLTHROUGH-}" ]; then
    site="${LOADEDMODULES-}"
    mark=' (E)'
  fi
  set --
  while [ -n "$rest" ]; do
    item=${rest%%:*}
    case $rest in *:*) rest=${rest#*:} ;; *) rest= ;; esac
    n=${at%%:*}
    case $at in *:*) at=${at#*:} ;; *) at= ;; esac
    case $n in '' | *[!0-9]*) n=0 ;; esac
    # The site modules that were loaded before this one come first.
    while [ "$used" -lt "$n" ] && [ -n "$site" ]; do
      i=$((i + 1))
      used=$((used + 1))
      if [ -n "$terse" ]; then set -- "$@" "${site%%:*}"; else set -- "$@" "$i) ${site%%:*}"; fi
      case $site in *:*) site=${site#*:} ;; *) site= ;; esac
    done
    i=$((i + 1))
    if [ -n "$terse" ]; then set -- "$@" "$item"; else set -- "$@" "$i) $item$mark"; fi
  done
  while [ -n "$site" ]; do
    i=$((i + 1))
    if [ -n "$terse" ]; then set -- "$@" "${site%%:*}"; else set -- "$@" "$i) ${site%%:*}"; fi
    case $site in *:*) site=${site#*:} ;; *) site= ;; esac
  done
  if [ -n "$terse" ]; then
    [ $# -eq 0 ] || _envlock_out "$@"
  elif [ $# -eq 0 ]; then
    _envlock_out 'No modules loaded'
  else
    _envlock_out '' 'Currently Loaded Modules:'
    _envlock_columns "$@"
    _envlock_out ''
    if [ -n "$mark" ] && [ -n "${ENVLOCK_LOADED-}" ]; then
      _envlock_out '  Where:' '   E:  envlock module: its commands run in a pinned image' ''
    fi
  fi
  return 0
}

# module avail [-t] [-d] [PATTERN]: every tree's index formatted by one awk run, with (D) and
# (L), and the site's listing merged in: one legend and the site's closing advice, at the end.
_envlock_avail() {
  local terse= default= pat= _el_rest="${ENVLOCK_MODULEPATH-}:" _el_root unindexed= _el_site= cli
  while [ $# -gt 0 ]; do
    case $1 in
      -t | --terse) terse=1 ;;
      -d | --default) default=1 ;;
      *) pat=$1 ;;
    esac
    shift
  done
  if [ -n "$pat" ] && ! _envlock_valid "$pat"; then
    _envlock_err "pattern \"$pat\" holds characters module names never hold"
    return 1
  fi
  _envlock_site_listing ${terse:+-t} ${default:+-d} avail ${pat:+"$pat"}
  set --
  while _envlock_next_root; do
    if [ -r "$_el_root/.envlock-index" ]; then
      set -- "$@" "$_el_root/.envlock-index"
    elif [ -d "$_el_root" ]; then
      unindexed="$unindexed$_el_root$_el_nl"
    fi
  done
  # Trees without an index (modules made by hand) are listed by the CLI, one call for all.
  cli=
  if [ -n "$unindexed" ]; then
    local args="module${_el_nl}avail$_el_nl${terse:+--terse$_el_nl}${default:+--default$_el_nl}${pat:+--pattern$_el_nl$pat$_el_nl}--$_el_nl$unindexed"
    cli=$(_envlock_cli_lines "$args") || cli=
  fi
  [ $# -gt 0 ] || set -- /dev/null
  _envlock_to_out _envlock_avail_awk "$pat" "$terse" "$default" "$cli" "$@"
  return 0
}

# Runs the CLI with the newline-separated arguments $1 (paths may hold spaces) and prints its output.
_envlock_cli_lines() {
  local list="$1"
  set --
  while [ -n "$list" ]; do
    set -- "$@" "${list%%"$_el_nl"*}"
    list=${list#*"$_el_nl"}
  done
  _envlock_cli "$@"
}

# Formats index files $5... for avail; $1 the pattern, $2 non-empty for terse, $3 for defaults
# only, $4 the CLI's listing of trees without an index; _el_site is the site's listing. Values
# reach awk through its environment, never its program.
_envlock_avail_awk() {
  local pat="$1" terse="$2" default="$3" cli="$4"
  shift 4
  _EL_PAT=$pat _EL_TERSE=$terse _EL_DEFAULT=$default _EL_CLI=$cli _EL_SITE=$_el_site "$_ENVLOCK_AWK" '
    BEGIN {
      loaded = ":" ENVIRON["ENVLOCK_LOADED"] ":"; pat = ENVIRON["_EL_PAT"]; terse = ENVIRON["_EL_TERSE"]
      only_default = ENVIRON["_EL_DEFAULT"]
      width = ENVIRON["COLUMNS"] + 0; if (width < 20) width = 80
    }
    function flush(   i, w, cols, line, dashes) {
      if (count == 0) return
      if (terse) { print root ":"; for (i = 1; i <= count; i++) print item[i]; count = 0; return }
      w = 0; for (i = 1; i <= count; i++) if (length(item[i]) > w) w = length(item[i])
      cols = int((width - 3) / (w + 3)); if (cols < 1) cols = 1
      dashes = "--------------------"
      print ""; print dashes " " root " " dashes
      line = ""
      for (i = 1; i <= count; i++) {
        line = line sprintf("   %-" w "s", item[i])
        if (i % cols == 0 || i == count) { sub(/ +$/, "", line); print line; line = "" }
      }
      count = 0
    }
    # A legend line ("   D:  Default Module") kept once, in the order first seen.
    function legend(key, text) { if (!(key in said)) { said[key] = text; order[++keys] = key } }
    FNR == 1 { flush(); ok = ($0 == "# envlock-module-index 1"); root = FILENAME; sub(/\/\.envlock-index$/, "", root); next }
    !ok || NF < 7 { next }
    {
      label = $1 "/" $2
      if (pat != "" && index(label, pat) == 0) next
      if (only_default && $3 != "D") next
      mark = ($3 == "D") ? "D" : ""
      if (index(loaded, ":" label ":")) { mark = (mark == "") ? "L" : "L,D"; usedL = 1 }
      if ($3 == "D") usedD = 1
      item[++count] = (terse || mark == "") ? label : label " (" mark ")"
    }
    END {
      flush()
      if (usedD) legend("D", "Default Module")
      if (usedL) legend("L", "Module is loaded")
      # The CLI lists the trees without an index in the same layout, legend included.
      n = split(ENVIRON["_EL_CLI"], lines, "\n"); part = "body"
      for (i = 1; i <= n; i++) {
        l = lines[i]
        if (l == "  Where:") { part = "legend"; continue }
        if (part == "legend") { if (match(l, /^ +[A-Za-z,]+: +/)) { k = l; sub(/^ +/, "", k); sub(/:.*/, "", k); t = l; sub(/^ +[A-Za-z,]+: +/, "", t); legend(k, t) } else if (l != "") part = "body"; continue }
        if (i == n && l == "") continue
        print l
      }
      # The site part: its sections, its legend merged into one, its closing advice last.
      n = split(ENVIRON["_EL_SITE"], lines, "\n"); part = "body"; footer = ""
      for (i = 1; i <= n; i++) {
        l = lines[i]
        if (part != "footer" && (l ~ /^If the avail list is too long/ || l ~ /^Use "module spider"/)) part = "footer"
        if (part == "footer") { footer = footer l "\n"; continue }
        if (l == "  Where:") { part = "legend"; continue }
        if (part == "legend") {
          if (match(l, /^ +[A-Za-z,]+: +/)) { k = l; sub(/^ +/, "", k); sub(/:.*/, "", k); t = l; sub(/^ +[A-Za-z,]+: +/, "", t); legend(k, t); continue }
          if (l == "") continue
          part = "body"
        }
        if (l == "" && i == n) continue
        print l
      }
      if (!terse && keys > 0) {
        print ""; print "  Where:"
        for (i = 1; i <= keys; i++) printf "   %s:  %s\n", order[i], said[order[i]]
        print ""
      }
      if (!terse && footer != "") { sub(/\n+$/, "\n", footer); printf "%s", footer }
    }' "$@"
}

# module is-loaded NAME...: status 0 when every name is loaded (by envlock or the site).
_envlock_is_loaded() {
  local req
  for req in "$@"; do
    _envlock_valid "$req" || return 1
    _envlock_loaded_at "$req"
    if [ "$_el_idx" -eq 0 ]; then
      if [ -n "${_ENVLOCK_FALLTHROUGH-}" ]; then _envlock_fallthrough is-loaded "$req" || return 1; else return 1; fi
    fi
  done
  return 0
}

# The directory of saved collections.
_envlock_collections() {
  _el_r="${XDG_CONFIG_HOME:-${HOME-}/.config}/envlock/collections"
}

# module save [NAME] / restore [NAME] / savelist. A collection holds every loaded module in
# load order, one a line: envlock's as NAME/VERSION, the site's as site:NAME/VERSION.
_envlock_save() {
  local name="${1:-default}" rest="${ENVLOCK_LOADED-}" at="${_ENVLOCK_SITE_AT-}" site= used=0 n text=
  case $name in */*) _envlock_err "collection name \"$name\" may not hold /"; return 1 ;; esac
  _envlock_valid "$name" || { _envlock_err "collection name \"$name\" holds characters names never hold"; return 1; }
  [ -z "${_ENVLOCK_FALLTHROUGH-}" ] || site="${LOADEDMODULES-}"
  while [ -n "$rest" ]; do
    n=${at%%:*}
    case $at in *:*) at=${at#*:} ;; *) at= ;; esac
    case $n in '' | *[!0-9]*) n=0 ;; esac
    while [ "$used" -lt "$n" ] && [ -n "$site" ]; do
      text="${text}site:${site%%:*}$_el_nl"
      used=$((used + 1))
      case $site in *:*) site=${site#*:} ;; *) site= ;; esac
    done
    text="$text${rest%%:*}$_el_nl"
    case $rest in *:*) rest=${rest#*:} ;; *) rest= ;; esac
  done
  while [ -n "$site" ]; do
    text="${text}site:${site%%:*}$_el_nl"
    case $site in *:*) site=${site#*:} ;; *) site= ;; esac
  done
  _envlock_collections
  "$_ENVLOCK_MKDIR" -p -- "$_el_r" || return 1
  printf '%s' "$text" >"$_el_r/$name" || return 1
  _envlock_out "Saved current collection of modules to: \"$name\""
  return 0
}

# Loads the names gathered so far in _el_batch (all envlock's or all the site's, by _el_kind).
_envlock_restore_batch() {
  [ -n "$_el_batch" ] || return 0
  # shellcheck disable=SC2086 # checked names: no spaces or globs
  set -- $_el_batch
  _el_batch=
  if [ "$_el_kind" = site ]; then _envlock_site_load "$@"; else _envlock_load "$@"; fi
}

_envlock_restore() {
  local name="${1:-default}" file line kind names= _el_batch= _el_kind= _el_kept=
  case $name in */*) _envlock_err "collection name \"$name\" may not hold /"; return 1 ;; esac
  _envlock_valid "$name" || { _envlock_err "collection name \"$name\" holds characters names never hold"; return 1; }
  _envlock_collections
  file="$_el_r/$name"
  if [ ! -r "$file" ]; then
    _envlock_err "collection \"$name\" does not exist; run \`module savelist\` to see the saved ones"
    return 1
  fi
  while IFS= read -r line || [ -n "$line" ]; do
    [ -n "$line" ] || continue
    _envlock_valid "${line#site:}" || { _envlock_err "collection \"$name\" holds an invalid module name"; return 1; }
    case $line in
      site:*)
        if [ -z "${_ENVLOCK_FALLTHROUGH-}" ]; then
          _envlock_err "collection \"$name\" holds the site module ${line#site:}, but this shell has no site module command"
          return 1
        fi ;;
    esac
    names="$names$line$_el_nl"
  done <"$file"
  # envlock's state is kept, and put back when a load fails, so a bad collection changes
  # nothing of envlock's (the site's command keeps what it managed to load).
  _envlock_keep
  _envlock_purge_quiet
  [ -z "${_ENVLOCK_FALLTHROUGH-}" ] || _envlock_fallthrough purge || :
  while [ -n "$names" ]; do
    line=${names%%"$_el_nl"*}
    names=${names#*"$_el_nl"}
    case $line in site:*) kind=site; line=${line#site:} ;; *) kind=envlock ;; esac
    if [ "$kind" != "$_el_kind" ]; then
      _envlock_restore_batch || { _envlock_back; return 1; }
      _el_kind=$kind
    fi
    _el_batch="$_el_batch $line"
  done
  _envlock_restore_batch || { _envlock_back; return 1; }
  _envlock_out "Restoring modules from collection \"$name\""
  return 0
}

# Unloads envlock modules only (restore and purge's first half).
_envlock_purge_quiet() {
  local saved="${_ENVLOCK_FALLTHROUGH-}"
  _ENVLOCK_FALLTHROUGH=
  _envlock_purge
  _ENVLOCK_FALLTHROUGH=$saved
  return 0
}

_envlock_savelist() {
  local f i=0
  _envlock_collections
  _envlock_out 'Named collection list :'
  for f in "$_el_r"/*; do
    [ -f "$f" ] || continue
    i=$((i + 1))
    _envlock_out "  $i) ${f##*/}"
  done
  return 0
}

# module refresh: puts back any wrapper directory of a loaded module that PATH lost.
_envlock_refresh() {
  local rest="${_ENVLOCK_PATH_ADDED-}" dir
  while [ -n "$rest" ]; do
    dir=${rest%%:*}
    case $rest in *:*) rest=${rest#*:} ;; *) rest= ;; esac
    case ":${PATH-}:" in *":$dir/bin:"*) ;; *) PATH="$dir/bin${PATH:+:$PATH}" ;; esac
  done
  export PATH
  return 0
}

# show/display/whatis/help/spider NAME: the CLI for envlock modules, the site's command otherwise;
# spider asks both, and a name neither knows gets one message with suggestions from both.
_envlock_describe() {
  local sub="$1" req ours site_knows _el_site= _el_site_names=
  shift
  for req in "$@"; do
    _envlock_valid "$req" || { _envlock_err "module name \"$req\" holds characters module names never hold"; return 1; }
  done
  if [ $# -eq 0 ]; then
    if [ "$sub" = spider ]; then
      _envlock_spider_all
      return
    fi
    _envlock_err "\`module $sub\` needs a module name"
    return 1
  fi
  for req in "$@"; do
    _envlock_resolve_all "$req"
    _envlock_take
    if [ "$_el_r" != found ] && ! _envlock_needs_cli "$req"; then
      ours=
    else
      ours=1
    fi
    if [ "$sub" = spider ] && [ -n "${_ENVLOCK_FALLTHROUGH-}" ]; then
      _envlock_site_listing spider "$req"
      case $_el_site in *'Unable to find'* | '') site_knows= ;; *) site_knows=1 ;; esac
      if [ -z "$ours" ] && [ -z "$site_knows" ]; then
        _envlock_site_names
        _envlock_unknown "$req"
        return 1
      fi
      if [ -n "$ours" ]; then _envlock_to_out _envlock_cli module spider -- "$req" || return 1; fi
      [ -z "$site_knows" ] || _envlock_out "$_el_site"
    elif [ -z "$ours" ] && [ -n "${_ENVLOCK_FALLTHROUGH-}" ]; then
      _envlock_fallthrough "$sub" "$req" || return 1
    else
      _envlock_to_out _envlock_cli module "$sub" -- "$req" || return 1
    fi
  done
  return 0
}

# Runs "$@" with its stdout where Lmod puts listings: stderr, or stdout when LMOD_REDIRECT=yes.
_envlock_to_out() {
  if [ "${LMOD_REDIRECT-}" = yes ]; then "$@"; else "$@" >&2; fi
}

# Prints envlock's framed listing $1 (spider or keyword: rule, title, rule, entries, rule,
# advice, rule) merged into the site's listing _el_site: one frame, the site's entries first,
# then envlock's. Without a site frame to merge into, each is printed as it is.
_envlock_frame_merge() {
  if [ -z "$_el_site" ]; then
    [ -z "$1" ] || _envlock_out "$1"
    return 0
  fi
  _EL_OURS=$1 _EL_SITE=$_el_site "$_ENVLOCK_AWK" '
    function rule(l) { return l ~ /^-----+$/ }
    BEGIN {
      n = split(ENVIRON["_EL_OURS"], ours, "\n"); r = 0; entries = ""
      for (i = 1; i <= n; i++) { if (rule(ours[i])) { r++; continue } if (r % 4 == 2) entries = entries ours[i] "\n" }
      m = split(ENVIRON["_EL_SITE"], site, "\n"); r = 0; framed = 0
      for (i = 1; i <= m; i++) if (rule(site[i])) r++
      framed = (r >= 3)
      if (!framed) { printf "%s\n%s\n", ENVIRON["_EL_OURS"], ENVIRON["_EL_SITE"]; exit }
      r = 0; done = 0
      for (i = 1; i <= m; i++) {
        if (rule(site[i])) { r++; if (r == 3 && !done) { printf "%s", entries; done = 1 } }
        print site[i]
      }
    }'
}

# module spider: the listing each tree's index writer rendered (ROOT/.envlock-spider); a tree
# without one (made by hand) makes the CLI read every tree instead. Merged with the site's.
_envlock_spider_all() {
  local _el_rest="${ENVLOCK_MODULEPATH-}:" _el_root ours= _el_site= cli=
  set --
  while _envlock_next_root; do
    [ -d "$_el_root" ] || continue
    if [ -r "$_el_root/.envlock-spider" ] && [ ! "$_el_root/.envlock-index" -nt "$_el_root/.envlock-spider" ]; then
      set -- "$@" "$_el_root/.envlock-spider"
    else
      cli=1
    fi
  done
  if [ -n "$cli" ]; then
    ours=$(_envlock_cli module spider) || return 1
  elif [ $# -gt 0 ]; then
    ours=$("$_ENVLOCK_CAT" -- "$@") || return 1
  fi
  _envlock_site_listing spider
  _envlock_to_out _envlock_frame_merge "$ours"
}

# module keyword WORD...: envlock modules whose name, description, aliases or commands hold a
# word, in the same frame as the site's matches.
_envlock_keyword() {
  local ours= _el_site=
  if [ $# -eq 0 ]; then _envlock_err '`module keyword` needs a word to look for'; return 1; fi
  if [ -n "${ENVLOCK_MODULEPATH-}" ]; then ours=$(_envlock_cli module keyword -- "$@") || ours=; fi
  _envlock_site_listing keyword "$@"
  _envlock_to_out _envlock_frame_merge "$ours"
}

# module overview: how many versions each name has, envlock's trees first, then the site's.
_envlock_overview() {
  local ours= _el_site=
  if [ -n "${ENVLOCK_MODULEPATH-}" ]; then ours=$(_envlock_cli module overview) || ours=; fi
  _envlock_site_listing overview
  [ -z "$ours" ] || _envlock_out "$ours"
  [ -z "$_el_site" ] || _envlock_out "$_el_site"
  return 0
}

# Runs the site's module command saved when the shim was sourced.
_envlock_fallthrough() {
  case ${_ENVLOCK_FALLTHROUGH-} in
    function) _envlock_orig_module "$@" ;;
    lmod) eval "$("$LMOD_CMD" sh "$@")" ;;
    command) command module "$@" ;;
    *) _envlock_err "no site module command to pass \`$1\` to"; return 1 ;;
  esac
}

_envlock_usage() {
  printf '%s\n' 'Usage: module [options] sub-command [args ...]' '' \
    'Sub-commands (envlock shim; other names go to the site module command when there is one):' \
    '  avail [PATTERN]      list available modules        load | add NAME ...   load modules' \
    '  unload | rm NAME ... unload modules                swap | switch A B     unload A, load B' \
    '  list                 list loaded modules           purge                 unload all modules' \
    '  show | display NAME  show what a module does       spider [NAME]         search all modules' \
    '  whatis NAME          one-line description          help NAME             a module'"'"'s help' \
    '  is-loaded NAME       status 0 when loaded          refresh               restore wrapper dirs on PATH' \
    '  save [COLL]          save loaded modules           restore [COLL]        load a saved collection' \
    '  savelist             list saved collections        keyword WORD ...      search descriptions' \
    '  overview             versions per name             -t, -d                terse, defaults only' >&2
}

# module SUBCOMMAND ARGS... / ml ARGS...: zsh runs it in sh emulation; the helpers' result
# variables are local here, so nothing but PATH and the three state variables outlives a call.
# The status is returned explicitly: zsh 5.9 under `emulate -L sh` does not apply the caller's
# `set -e` to a function whose last command is a failing `case`.
_envlock_main() {
  if [ -n "${ZSH_VERSION-}" ]; then emulate -L sh; fi
  local _el_label= _el_prep= _el_idx=0 _el_item= _el_r= _el_got= _el_res= _el_look= _el_st=0 _el_n=0 _el_kept= _el_site= _el_site_names= _el_nl='
' IFS=' 	
'
  _envlock_dispatch "$@" || _el_st=$?
  return "$_el_st"
}

_envlock_dispatch() {
  local sub arg loads= unloads= opts=
  if [ "$1" = ml ]; then
    shift
    if [ $# -eq 0 ]; then
      set -- list
    else
      case $1 in
        av | avail | load | add | unload | rm | del | swap | switch | list | show | display | spider | whatis | help | \
          purge | is-loaded | save | restore | savelist | refresh | use | unuse | -t | --terse | -d | --default | \
          keyword | key | ov | overview) ;;
        *)
          # `ml foo -bar`: unload every -NAME, then load the rest (Lmod's ml does the same).
          for arg in "$@"; do
            _envlock_valid "${arg#-}" || { _envlock_err "module name \"$arg\" holds characters module names never hold"; return 1; }
            case $arg in
              -?*) unloads="$unloads ${arg#-}" ;;
              *) loads="$loads $arg" ;;
            esac
          done
          # shellcheck disable=SC2086 # checked names: no spaces or globs
          [ -z "$unloads" ] || _envlock_unload $unloads || return 1
          # shellcheck disable=SC2086
          [ -z "$loads" ] || _envlock_load $loads || return 1
          return 0 ;;
      esac
    fi
  else
    shift
  fi
  if [ $# -eq 0 ]; then
    _envlock_usage
    return 0
  fi
  sub=$1
  shift
  # Lmod's -t/--terse and -d/--default may come before the sub-command: `module -t list`, `ml -d av`.
  while [ "$sub" = -t ] || [ "$sub" = --terse ] || [ "$sub" = -d ] || [ "$sub" = --default ]; do
    if [ $# -eq 0 ]; then _envlock_usage; return 1; fi
    opts="$opts $sub"
    sub=$1
    shift
  done
  # shellcheck disable=SC2086 # only the fixed words -t, --terse, -d and --default
  [ -z "$opts" ] || set -- $opts "$@"
  case $sub in
    load | add | try-load) _envlock_load "$@" ;;
    unload | rm | del | remove) _envlock_unload "$@" ;;
    swap | switch)
      if [ $# -ne 2 ]; then _envlock_err "\`module $sub\` needs two names: the loaded one and the one to load"; return 1; fi
      if ! _envlock_valid "$1" || ! _envlock_valid "$2"; then _envlock_err 'module names hold letters, digits, . _ + - and / only'; return 1; fi
      _envlock_keep
      _envlock_unload "$1" || return 1
      if ! _envlock_load "$2"; then
        _envlock_back
        return 1
      fi ;;
    list) _envlock_list "$@" ;;
    av | avail) _envlock_avail "$@" ;;
    purge) _envlock_purge ;;
    is-loaded | is_loaded) _envlock_is_loaded "$@" ;;
    show | display | spider | whatis | help) _envlock_describe "$sub" "$@" ;;
    save) _envlock_save "$@" ;;
    restore) _envlock_restore "$@" ;;
    savelist) _envlock_savelist ;;
    refresh) _envlock_refresh ;;
    keyword | key) _envlock_keyword "$@" ;;
    overview | ov) _envlock_overview ;;
    *)
      if [ -n "${_ENVLOCK_FALLTHROUGH-}" ]; then
        _envlock_fallthrough "$sub" "$@"
      else
        _envlock_err "\`module $sub\` is not a sub-command envlock knows; run \`module\` for the list"
        return 1
      fi ;;
  esac
}

# Finds the module command the shell had before this file was sourced, for falling through.
# Only the shell's own function definition is re-read (bash `declare -f`, zsh $functions);
# nothing from files or the environment is eval'd.
_envlock_setup() {
  local def=
  _ENVLOCK_FALLTHROUGH=
  # shellcheck disable=SC3044 # declare: bash only, behind the version test
  if [ -n "${BASH_VERSION-}" ]; then
    # `declare -F` is a builtin test; the definition is only fetched (a fork) when there is one.
    if declare -F module >/dev/null 2>&1; then def=$(declare -f module) || def=; fi
  elif [ -n "${ZSH_VERSION-}" ]; then
    eval 'def=${functions[module]-}'
  fi
  case $def in
    '') ;;
    *_envlock_main*)
      # Sourced again (a sub-shell that inherited exported functions): keep the saved one.
      # shellcheck disable=SC3044
      if [ -n "${BASH_VERSION-}" ]; then
        declare -F _envlock_orig_module >/dev/null 2>&1 && _ENVLOCK_FALLTHROUGH=function
      else
        eval '[ -z "${functions[_envlock_orig_module]-}" ]' || _ENVLOCK_FALLTHROUGH=function
      fi ;;
    *)
      if [ -n "${BASH_VERSION-}" ]; then
        eval "_envlock_orig_module ${def#module}"
      else
        eval 'functions[_envlock_orig_module]=$functions[module]'
      fi
      _ENVLOCK_FALLTHROUGH=function ;;
  esac
  if [ -z "$_ENVLOCK_FALLTHROUGH" ] && [ -n "${LMOD_CMD-}" ] && [ -x "${LMOD_CMD-}" ]; then
    _ENVLOCK_FALLTHROUGH=lmod
  elif [ -z "$_ENVLOCK_FALLTHROUGH" ] && command -v module >/dev/null 2>&1; then
    # shellcheck disable=SC2209 # the word "command": how _envlock_fallthrough calls it
    case $(command -v module) in /*) _ENVLOCK_FALLTHROUGH=command ;; esac
  fi
  # The host's helpers, before any module can wrap them (a sub-shell that sources the shim
  # again skips the wrapper directories its parent's modules put on PATH).
  _envlock_host_tool awk && _ENVLOCK_AWK=$_el_r
  _envlock_host_tool cat && _ENVLOCK_CAT=$_el_r
  _envlock_host_tool mkdir && _ENVLOCK_MKDIR=$_el_r
  _envlock_host_tool mktemp && _ENVLOCK_MKTEMP=$_el_r
  _envlock_host_tool rm && _ENVLOCK_RM=$_el_r
  return 0
}

_envlock_setup
unset -f _envlock_setup
unset _el_r
module() { _envlock_main module "$@"; }
ml() { _envlock_main ml "$@"; }
export _ENVLOCK_FALLTHROUGH _ENVLOCK_AWK _ENVLOCK_CAT _ENVLOCK_MKDIR _ENVLOCK_MKTEMP _ENVLOCK_RM
# bash hands functions to sub-shells through the environment, as Lmod's `module` does.
# shellcheck disable=SC3045 # export -f: bash only
if [ -n "${BASH_VERSION-}" ]; then
  export -f module ml \
    _envlock_err _envlock_out _envlock_valid _envlock_next_root _envlock_host_tool _envlock_cli \
    _envlock_lookup _envlock_resolve_all _envlock_take _envlock_needs_cli _envlock_fresh \
    _envlock_same_file _envlock_find_slow _envlock_loaded_at _envlock_list_drop _envlock_path_remove \
    _envlock_unload_at _envlock_count _envlock_keep _envlock_back _envlock_apply_load _envlock_load \
    _envlock_unknown _envlock_is_lmod _envlock_site_listing _envlock_site_names _envlock_site_load \
    _envlock_unload _envlock_purge _envlock_columns _envlock_list _envlock_avail _envlock_cli_lines \
    _envlock_avail_awk _envlock_is_loaded _envlock_collections _envlock_save _envlock_restore_batch \
    _envlock_restore _envlock_purge_quiet _envlock_savelist _envlock_refresh _envlock_describe \
    _envlock_to_out _envlock_frame_merge _envlock_spider_all _envlock_keyword _envlock_overview \
    _envlock_fallthrough _envlock_usage _envlock_main _envlock_dispatch
  [ "$_ENVLOCK_FALLTHROUGH" != function ] || export -f _envlock_orig_module
fi
