#!/usr/bin/env bash
# UI test of the Linux menu-bar app, on a virtual X display.
#
# Starts, all private to this run: Xvfb (a free display), a D-Bus session (dbus-launch), trayer (an
# XEmbed tray host), dunst (the notification daemon) and dbus-monitor (records the Notify calls). With
# no StatusNotifierWatcher on that bus, libayatana-appindicator falls back to an XEmbed GtkStatusIcon:
# the icon is a window embedded in trayer and the menu a GTK popup opened by clicking it, driven with
# the keyboard (xdotool). Then it runs the app on a fresh demo and checks:
#   1. the icon appears in the tray (and the app is alive);
#   2. the menu opens, shows what `secours menu --json` describes, and an item works from the keyboard
#      ("Verify the backup now" adds verifications to the history);
#   3. making the backup stale turns the icon red and sends exactly one alert notification;
#   4. "Quit Secours" ends the app with exit code 0 within 5 s.
# Builds nothing: usage `tests/ui/run.sh [path/to/secours]` (default target/debug/secours).
# Screenshots and logs go to ${UI_ARTIFACTS:-target/ui-artifacts}/. Under CI=true a missing tool is a
# failure, never a skip. Exits non-zero if any check fails; the last line is `N passed, M failed`.
set -uo pipefail

bin="${1:-target/debug/secours}"
case "$bin" in /*) ;; *) bin="$PWD/$bin" ;; esac
cd "$(dirname "$0")/../.." || exit 2
art="${UI_ARTIFACTS:-target/ui-artifacts}"
mkdir -p "$art" && art="$(cd "$art" && pwd)"
rm -f "$art"/*.png "$art"/*.log

passed=0
failed=0
pass() { passed=$((passed + 1)); echo "PASS: $*"; }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }
note() { echo "  .. $*"; }
finish() {
  echo "$passed passed, $failed failed"
  [ "$failed" -eq 0 ]
  exit $?
}

# --- Tools -------------------------------------------------------------------------------------------
tools=(Xvfb trayer dunst dbus-launch dbus-monitor dbus-send xdotool xwininfo import convert compare jq)
packages=(libayatana-appindicator3-1 xvfb xdotool x11-utils imagemagick trayer dunst dbus-x11 dbus
  libnotify-bin jq)
missing() {
  local t out=()
  for t in "${tools[@]}"; do command -v "$t" >/dev/null 2>&1 || out+=("$t"); done
  ldconfig -p 2>/dev/null | grep -q 'libayatana-appindicator3\.so\.1' || out+=(libayatana-appindicator3)
  echo "${out[*]}"
}
if [ -n "$(missing)" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing: ${packages[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y --no-install-recommends "${packages[@]}" >/dev/null 2>&1 ||
    { apt-get update >/dev/null 2>&1 && apt-get install -y --no-install-recommends "${packages[@]}" >/dev/null; }
fi
gone="$(missing)"
if [ -n "$gone" ]; then
  if [ "${CI:-}" = true ]; then
    fail "tools missing: $gone (install: ${packages[*]})"
    finish
  fi
  echo "SKIP: UI test, tools missing: $gone (install: ${packages[*]})"
  exit 0
fi
if [ ! -x "$bin" ]; then
  fail "no executable at '$bin' (build it first: cargo build)"
  finish
fi

# --- Sandbox -----------------------------------------------------------------------------------------
tmp="$(mktemp -d)"
pids=() # everything started, killed in reverse order on exit
app_pid=""
cleanup() {
  local i
  [ -n "$app_pid" ] && kill "$app_pid" 2>/dev/null
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do kill "${pids[i]}" 2>/dev/null; done
  sleep 0.3
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do kill -9 "${pids[i]}" 2>/dev/null; done
  cp "$tmp"/*.log "$art"/ 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Runs "$@" until it succeeds, every 0.25 s, for at most $1 seconds.
wait_for() {
  local limit=$1 i
  shift
  for ((i = 0; i < limit * 4; i++)); do
    "$@" && return 0
    sleep 0.25
  done
  return 1
}

export HOME="$tmp/home" XDG_CONFIG_HOME="$tmp/home/.config" XDG_DATA_HOME="$tmp/home/.local/share"
export XDG_CACHE_HOME="$tmp/home/.cache" SECOURS_DATA_DIR="$tmp/data"
export LC_ALL=C.UTF-8 LANG=C.UTF-8 GDK_BACKEND=x11 NO_AT_BRIDGE=1 RUST_LOG=info
unset LANGUAGE WAYLAND_DISPLAY SECOURS_NO_NOTIFICATIONS SECOURS_CONFIG
mkdir -p "$HOME" "$SECOURS_DATA_DIR"

# Xvfb picks a free display itself and writes its number to fd 3.
Xvfb -displayfd 3 -screen 0 1024x768x24 -nolisten tcp 3>"$tmp/display" >"$tmp/xvfb.log" 2>&1 &
pids+=($!)
if ! wait_for 10 test -s "$tmp/display"; then
  fail "Xvfb did not start (see xvfb.log)"
  finish
fi
export DISPLAY=":$(head -n1 "$tmp/display")"
note "display $DISPLAY"

# Bare containers lack the machine id D-Bus insists on.
if [ ! -s /etc/machine-id ] && [ ! -s /var/lib/dbus/machine-id ] && [ "$(id -u)" = 0 ]; then
  dbus-uuidgen --ensure 2>/dev/null || true
fi
if ! eval "$(dbus-launch --sh-syntax)" || [ -z "${DBUS_SESSION_BUS_PID:-}" ]; then
  fail "dbus-launch could not start a session bus"
  finish
fi
pids+=("$DBUS_SESSION_BUS_PID")
export DBUS_SESSION_BUS_ADDRESS

# The tray at the bottom left, far from dunst's bubbles (top right), so they never cover the icon.
trayer --edge bottom --align left --widthtype request --height 32 --SetDockType true \
  --transparent false --tint 0xffffff >"$tmp/trayer.log" 2>&1 &
pids+=($!)
panel_id() { xwininfo -root -tree 2>/dev/null | awk '/\("panel" "trayer"\)/ {print $1; exit}'; }
has_panel() { [ -n "$(panel_id)" ]; }
dunst >"$tmp/dunst.log" 2>&1 &
pids+=($!)
has_notifier() {
  dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
    org.freedesktop.DBus.NameHasOwner string:org.freedesktop.Notifications 2>/dev/null | grep -q 'boolean true'
}
dbus-monitor --session "type='method_call',interface='org.freedesktop.Notifications',member='Notify'" \
  >"$tmp/notify.log" 2>&1 &
pids+=($!)
if ! wait_for 10 has_panel; then
  fail "trayer did not show its panel (see trayer.log)"
  finish
fi
if ! wait_for 10 has_notifier; then
  fail "dunst did not take org.freedesktop.Notifications (see dunst.log)"
  finish
fi
wait_for 5 test -s "$tmp/notify.log" || note "dbus-monitor printed nothing yet"
panel="$(panel_id)"

# --- The app on a fresh demo -------------------------------------------------------------------------
if ! "$bin" demo --dir "$tmp/demo" --no-ui >"$tmp/demo.log" 2>&1; then
  fail "secours demo --no-ui failed (see demo.log)"
  finish
fi
config="$tmp/demo/config.toml"
secours() { "$bin" --config "$config" "$@"; }
# The history keeps the latest verification of each file: the newest time tells a new one apart.
last_verification() {
  secours history --json 2>/dev/null | jq -r '[.[] | select(.kind == "verification") | .at] | max // ""'
}
# Alert notifications: Notify calls whose summary speaks of the backup (not the "Secours" operation notes).
alert_summaries() {
  awk '/member=Notify/ {n = 0; next} /^   string / {n++; if (n == 3) print}' "$tmp/notify.log" |
    grep -E '"(Backup|Sauvegarde|Reminder|Rappel)' | sed 's/^ *string //'
}
alerts() { alert_summaries | wc -l; }

"$bin" --config "$config" app >"$tmp/app.log" 2>&1 &
app_pid=$!

# --- 1. The icon -------------------------------------------------------------------------------------
icon_id() { xwininfo -root -tree 2>/dev/null | awk '/\("tray-icon tray app/ {print $1; exit}'; }
has_icon() { [ -n "$(icon_id)" ]; }
if wait_for 20 has_icon; then
  icon="$(icon_id)"
  import -window root "$art/1-screen.png"
  import -window "$icon" "$art/1-icon.png"
  colours="$(convert "$art/1-icon.png" -format '%k' info:)"
  if ! xwininfo -tree -id "$panel" | grep -q "$icon"; then
    fail "1 icon: window $icon is not inside trayer's panel $panel"
  elif ! kill -0 "$app_pid" 2>/dev/null; then
    fail "1 icon: the app died (see app.log)"
  elif [ "$colours" -lt 3 ]; then
    fail "1 icon: the icon window is uniform ($colours colours): nothing drawn"
  else
    pass "1 icon: embedded in trayer (window $icon, $colours colours), app alive"
  fi
else
  icon=""
  import -window root "$art/1-screen.png"
  fail "1 icon: no tray icon window within 20 s (app alive: $(kill -0 "$app_pid" 2>/dev/null && echo yes || echo no))"
fi

# Opens the menu by clicking the icon; prints the popup's window id.
# (A closed popup stays as an unmapped window: only a visible one counts.)
popup_id() {
  local w HEIGHT X Y WIDTH WINDOW SCREEN
  for w in $(xdotool search --onlyvisible --class '^Secours$' 2>/dev/null); do
    eval "$(xdotool getwindowgeometry --shell "$w")"
    if [ "$HEIGHT" -ge 100 ]; then
      echo "$w"
      return
    fi
  done
}
has_popup() { [ -n "$(popup_id)" ]; }
open_menu() {
  [ -n "$icon" ] || return 1
  local X Y WIDTH HEIGHT WINDOW SCREEN
  eval "$(xdotool getwindowgeometry --shell "$icon")"
  xdotool mousemove $((X + WIDTH / 2)) $((Y + HEIGHT / 2)) click 1
  wait_for 5 has_popup || return 1
  sleep 0.5 # let GTK finish mapping and grab the keyboard
}
# How many Down presses reach the item with this action (disabled items and separators are skipped).
downs_to() {
  secours menu --json | jq --arg a "$1" \
    '[.items[] | select(.enabled and (.separator | not))] | map(.action.action) | index($a) + 1'
}

# --- 2. The menu -------------------------------------------------------------------------------------
menu_json="$(secours menu --json 2>/dev/null)"
labels="$(jq -r '.items[].label' <<<"$menu_json")"
items="$(jq '.items | length' <<<"$menu_json")"
if grep -qE '^(Last backup|Dernière sauvegarde)' <<<"$labels" &&
  grep -qE '^(Verify the backup now|Vérifier la sauvegarde maintenant)$' <<<"$labels" &&
  grep -qE '^(Quit Secours|Quitter Secours)$' <<<"$labels"; then
  pass "2 menu model: menu --json lists the last backup line, Verify and Quit ($items items)"
else
  fail "2 menu model: menu --json lacks the last backup line, Verify or Quit: $labels"
fi

if open_menu; then
  popup="$(popup_id)"
  import -window root "$art/2-menu.png"
  eval "$(xdotool getwindowgeometry --shell "$popup" | grep HEIGHT)"
  if [ "$HEIGHT" -ge $((items * 15)) ]; then
    pass "2 menu popup: opened by a click (window $popup, ${HEIGHT}px tall for $items items) — see 2-menu.png"
  else
    fail "2 menu popup: ${HEIGHT}px tall, too short for $items items — see 2-menu.png"
  fi
  before="$(last_verification)"
  n="$(downs_to verify-now)"
  for ((i = 0; i < n; i++)); do xdotool key Down; done
  sleep 1 # history times have one-second steps: a new verification must not share the old one's
  import -window root "$art/2-menu-verify-selected.png"
  xdotool key Return
  new_verification() { [[ "$(last_verification)" > "$before" ]]; }
  if wait_for 20 new_verification; then
    pass "2 menu action: Verify chosen with the keyboard ($n × Down, Return); last verification $before → $(last_verification)"
  else
    fail "2 menu action: no new verification within 20 s after Verify ($n × Down, Return) — see app.log"
  fi
else
  import -window root "$art/2-menu.png"
  fail "2 menu popup: no menu appeared within 5 s of clicking the icon"
  fail "2 menu action: not tried (no menu)"
fi

# --- 3. Stale backup: red icon, one notification -----------------------------------------------------
red_fraction() { convert "$1" -fx '(r>0.6 && g<0.4 && b<0.4) ? 1 : 0' -format '%[fx:mean]' info:; }
is_red() { awk -v f="$1" 'BEGIN {exit !(f > 0.15)}'; }
if [ -n "$icon" ]; then
  import -window "$icon" "$art/3-icon-before.png"
  red_before="$(red_fraction "$art/3-icon-before.png")"
  alerts_before="$(alerts)"
  touch -d '4 hours ago' "$tmp/demo/prod/runtime/backup/gestion.gz" "$tmp/demo/prod/runtime/backup/media.taz"
  turned_red() {
    import -window "$icon" "$tmp/icon-now.png" 2>/dev/null && is_red "$(red_fraction "$tmp/icon-now.png")"
  }
  if is_red "$red_before"; then
    fail "3 icon: already red before the backup went stale (red share $red_before) — see 3-icon-before.png"
  elif wait_for 25 turned_red; then
    cp "$tmp/icon-now.png" "$art/3-icon-stale.png"
    diff_px="$(compare -metric AE "$art/3-icon-before.png" "$art/3-icon-stale.png" null: 2>&1)"
    pass "3 icon: turned red when the backup went stale (red share $red_before → $(red_fraction "$art/3-icon-stale.png"), $diff_px pixels changed)"
  else
    import -window "$icon" "$art/3-icon-stale.png"
    fail "3 icon: not red 25 s after the backup went stale (red share $red_before → $(red_fraction "$art/3-icon-stale.png"))"
  fi
  import -window root "$art/3-screen-stale.png"
  one_more_alert() { [ "$(alerts)" -gt "$alerts_before" ]; }
  if wait_for 25 one_more_alert; then
    sleep 20 # two more refreshes: the alert must not repeat
    got=$(($(alerts) - alerts_before))
    if [ "$got" -eq 1 ]; then
      pass "3 notification: exactly one alert ($(alert_summaries | tail -n1)), none more in the next 20 s"
    else
      fail "3 notification: $got alerts instead of 1 (see notify.log)"
    fi
  else
    fail "3 notification: no alert within 25 s of the backup going stale (see notify.log)"
  fi
else
  fail "3 icon: not tried (no icon)"
  fail "3 notification: not tried (no icon)"
fi

# --- 4. Quit -----------------------------------------------------------------------------------------
if open_menu; then
  n="$(downs_to quit)"
  for ((i = 0; i < n; i++)); do xdotool key Down; done
  sleep 0.3
  import -window root "$art/4-menu-quit-selected.png"
  xdotool key Return
  app_gone() { ! kill -0 "$app_pid" 2>/dev/null; }
  if wait_for 5 app_gone; then
    wait "$app_pid"
    rc=$?
    app_pid=""
    if [ "$rc" -eq 0 ]; then
      pass "4 quit: Quit chosen with the keyboard ($n × Down, Return); the app exited with 0"
    else
      fail "4 quit: the app exited with $rc instead of 0 (see app.log)"
    fi
  else
    fail "4 quit: the app still runs 5 s after Quit"
  fi
else
  fail "4 quit: no menu appeared to choose Quit from"
fi

finish
