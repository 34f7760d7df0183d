#!/usr/bin/env bash
# Builds (once) a Debian sid chroot holding Asterisk, for the integration tests of the Asterisk adapter.
# Asterisk is not in Debian 12 and sid's needs a newer libc than the host's, so it runs inside this chroot
# (see shared/notes/TELEPHONY.md). The chroot comes from the same Debian mirror apt uses on this machine.
#
#   scripts/asterisk/build-chroot.sh          # prints the chroot's path on its last line
#   HUIFANG_ASTERISK_CHROOT=/some/dir scripts/asterisk/build-chroot.sh
#
# Idempotent: a chroot whose stamp matches this script's recipe is reused; a partial one is rebuilt.
# Fails loudly (non-zero, with the reason) rather than leaving a half-built chroot that tests would skip over.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CHROOT="${HUIFANG_ASTERISK_CHROOT:-$ROOT/var/asterisk-chroot}"
SUITE=sid
# The packages inside the chroot; ARI (res_ari*, res_http_websocket) and chan_pjsip ship in asterisk-modules.
PACKAGES=(asterisk asterisk-modules)
# Bump RECIPE when the steps below change what a good chroot holds: older chroots are then rebuilt.
RECIPE="1 $SUITE ${PACKAGES[*]}"
STAMP="$CHROOT/.huifang-asterisk-ok"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf '错误：%s\nERROR: %s\n' "$1" "$2" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null 2>&1; then sudo "$@"; else
    die "需要 root 权限（debootstrap 与 chroot）：$*" "root is needed (debootstrap and chroot): $*"; fi
}

chroot_ok() {  # the stamp matches and Asterisk inside starts far enough to print its version
  [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$RECIPE" ] \
    && as_root chroot "$CHROOT" /usr/sbin/asterisk -V >/dev/null 2>&1
}

debian_mirror() {  # the first Debian archive (not security) that apt on this machine uses
  local file uri
  # deb822 .sources files: URIs: lines of stanzas whose Suites are not -security
  for file in /etc/apt/sources.list.d/*.sources; do
    [ -f "$file" ] || continue
    uri="$(awk '
      /^[[:space:]]*$/ { if (u != "" && s !~ /security/) { print u; exit } u = ""; s = "" }
      /^URIs:/ { u = $2 } /^Suites:/ { s = $0 }
      END { if (u != "" && s !~ /security/) print u }' "$file" | grep -E '/debian/?$' | head -n 1)"
    [ -n "$uri" ] && { echo "${uri%/}"; return 0; }
  done
  # one-line .list files
  for file in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$file" ] || continue
    uri="$(grep -E '^[[:space:]]*deb[[:space:]]' "$file" | grep -v security \
           | sed -E 's/^[[:space:]]*deb[[:space:]]+(\[[^]]*\][[:space:]]+)?//' | awk '{print $1}' \
           | grep -E '/debian/?$' | head -n 1)"
    [ -n "$uri" ] && { echo "${uri%/}"; return 0; }
  done
  return 1
}

if chroot_ok; then
  echo "$CHROOT"
  exit 0
fi

if ! command -v debootstrap >/dev/null 2>&1; then
  say "安装 debootstrap / installing debootstrap"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq \
    || die "apt-get update 失败，无法安装 debootstrap" "apt-get update failed, cannot install debootstrap"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null \
    || die "无法安装 debootstrap（apt-get install debootstrap）" "cannot install debootstrap (apt-get install debootstrap)"
fi

MIRROR="$(debian_mirror)" \
  || die "在 /etc/apt/sources.list{,.d} 中找不到 Debian 镜像" "no Debian mirror found in /etc/apt/sources.list{,.d}"

started=$SECONDS
LOG="$(mktemp /tmp/huifang-asterisk-chroot.XXXXXX.log)"
say "构建 Debian $SUITE chroot（Asterisk）：$CHROOT / building the chroot (log: $LOG)"
# A chroot without a good stamp is partial or from an older recipe: start again from nothing.
if [ -e "$CHROOT" ]; then
  # never follow a stale bind mount into the host
  if grep -qs " $CHROOT/" /proc/mounts; then
    die "$CHROOT 下仍有挂载点，请先卸载" "there are still mounts under $CHROOT: unmount them first"
  fi
  as_root rm -rf --one-file-system "$CHROOT"
fi
mkdir -p "$(dirname "$CHROOT")"

if ! as_root debootstrap --variant=minbase "$SUITE" "$CHROOT" "$MIRROR" >"$LOG" 2>&1; then
  tail -n 20 "$LOG" >&2
  die "debootstrap $SUITE 失败（镜像 $MIRROR，日志 $LOG）" "debootstrap $SUITE failed (mirror $MIRROR, log $LOG)"
fi

# apt inside: the mirror's sid Release file may be past its Valid-Until date; no services start in a chroot.
as_root sh -c "printf 'Acquire::Check-Valid-Until \"false\";\nAPT::Install-Recommends \"false\";\n' \
  > '$CHROOT/etc/apt/apt.conf.d/99huifang'"
as_root sh -c "printf '#!/bin/sh\nexit 101\n' > '$CHROOT/usr/sbin/policy-rc.d' && chmod 755 '$CHROOT/usr/sbin/policy-rc.d'"
as_root cp /etc/resolv.conf "$CHROOT/etc/resolv.conf" 2>/dev/null || true

in_chroot() { as_root chroot "$CHROOT" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive "$@"; }
if ! in_chroot apt-get update -qq >>"$LOG" 2>&1; then
  tail -n 20 "$LOG" >&2
  die "chroot 内 apt-get update 失败（日志 $LOG）" "apt-get update inside the chroot failed (log $LOG)"
fi
if ! in_chroot apt-get install -y -qq "${PACKAGES[@]}" >>"$LOG" 2>&1; then
  tail -n 20 "$LOG" >&2
  die "chroot 内安装 ${PACKAGES[*]} 失败（日志 $LOG）" "installing ${PACKAGES[*]} inside the chroot failed (log $LOG)"
fi
in_chroot apt-get clean >/dev/null 2>&1 || true

for module in res_ari.so res_http_websocket.so res_stasis.so res_stasis_recording.so chan_pjsip.so; do
  [ -n "$(find "$CHROOT/usr/lib" -path '*/asterisk/modules/*' -name "$module" -print -quit)" ] \
    || die "chroot 中缺少 Asterisk 模块 $module" "Asterisk module $module is missing from the chroot"
done
in_chroot id asterisk >/dev/null 2>&1 \
  || die "chroot 中没有 asterisk 用户" "there is no asterisk user in the chroot"
in_chroot /usr/sbin/asterisk -V >>"$LOG" 2>&1 \
  || die "chroot 中的 asterisk -V 无法运行（日志 $LOG）" "asterisk -V does not run in the chroot (log $LOG)"

as_root sh -c "echo '$RECIPE' > '$STAMP'"
say "chroot 就绪，用时 $((SECONDS - started)) 秒，$(du -sh --one-file-system "$CHROOT" 2>/dev/null | cut -f1) / chroot ready"
rm -f "$LOG"
echo "$CHROOT"
