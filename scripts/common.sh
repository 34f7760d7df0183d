# Shared by scripts/run and scripts/test: find a Python >= 3.12 and keep the virtual environment in .venv
# up to date with pyproject.toml and constraints.txt. Sourced, not run.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
die() { printf '错误：%s\n' "$*" >&2; exit 1; }

python_ok() {  # $1: an interpreter; true if it runs and is >= 3.12
  [ -n "$1" ] && "$1" -c 'import sys; raise SystemExit(sys.version_info < (3, 12))' >/dev/null 2>&1
}

find_python() {
  # 1. HUIFANG_PYTHON if set; 2. python3.13 / python3.12 / python3 on PATH; 3. pyenv's installed versions.
  local candidate version prefix
  for candidate in "${HUIFANG_PYTHON:-}" "$(command -v python3.13 || true)" "$(command -v python3.12 || true)" \
                   "$(command -v python3 || true)"; do
    if python_ok "$candidate"; then echo "$candidate"; return 0; fi
  done
  if command -v pyenv >/dev/null 2>&1; then
    # Newest first; pyenv's shims follow its global version, so call each version's own interpreter.
    for version in $(pyenv versions --bare 2>/dev/null | grep -E '^3\.[0-9]+(\.[0-9]+)?$' | sort -t. -k1,1n -k2,2n -k3,3n -r); do
      prefix="$(pyenv prefix "$version" 2>/dev/null || true)"
      if python_ok "$prefix/bin/python3"; then echo "$prefix/bin/python3"; return 0; fi
    done
  fi
  return 1
}

ensure_venv() {  # $1: "" for the platform, "dev" for the platform and the test tools
  local extras="$1" python stamp hash current
  if [ ! -x "$VENV/bin/python" ] || ! python_ok "$VENV/bin/python"; then
    python="$(find_python)" || die "需要 Python 3.12 或更新版本（Django 6 的要求）。请安装后重试，或用 HUIFANG_PYTHON=/path/to/python3.12 指定。"
    say "创建虚拟环境 .venv（$("$python" --version)）"
    rm -rf "$VENV"
    "$python" -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --upgrade pip > "$VENV/pip-install.log" 2>&1 || true
  fi
  stamp="$VENV/.huifang-installed"
  hash="$(cat "$ROOT/pyproject.toml" "$ROOT/constraints.txt" | sha256sum | cut -c1-16)"
  current="$(cat "$stamp" 2>/dev/null || true)"
  # A dev install also serves the platform; a base install does not serve the tests.
  if [ "$current" != "$hash-dev" ] && [ "$current" != "$hash-${extras:-base}" ]; then
    say "安装 Python 依赖"
    local target="$ROOT"
    [ -n "$extras" ] && target="$ROOT[$extras]"
    # pip reads the machine's own index and mirror configuration; nothing here names a registry.
    # Its chatter goes to a log, shown only if the install fails.
    if ! "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -c "$ROOT/constraints.txt" \
         -e "$target" > "$VENV/pip-install.log" 2>&1; then
      grep -v '^WARNING: Location' "$VENV/pip-install.log" >&2
      die "Python 依赖安装失败（完整日志：$VENV/pip-install.log）"
    fi
    echo "$hash-${extras:-base}" > "$stamp"
  fi
  export PATH="$VENV/bin:$PATH"
}

as_root() {  # run a command as root: directly, or through sudo
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null 2>&1; then sudo "$@"; else
    die "需要 root 权限安装系统软件包：$*"; fi
}

ensure_debian_packages() {  # installs the named Debian packages that are missing
  local missing=() package
  for package in "$@"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  say "安装系统软件包：${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

ECHARTS_VERSION=6.1.0
ensure_echarts() {  # the report pages' charts: echarts.min.js from the npm registry, into huifang/static/vendor
  local target="$ROOT/huifang/static/vendor/echarts" work
  [ -f "$target/echarts.min.js" ] && grep -q "$ECHARTS_VERSION" "$target/VERSION" 2>/dev/null && return 0
  command -v npm >/dev/null 2>&1 || ensure_debian_packages npm
  say "下载 ECharts $ECHARTS_VERSION（报表图表）"
  work="$(mktemp -d)"
  # npm pack checks the tarball against the registry's integrity hash; the registry is the machine's npm config.
  (cd "$work" && npm pack --silent "echarts@$ECHARTS_VERSION" >/dev/null && tar -xzf "echarts-$ECHARTS_VERSION.tgz" \
    package/dist/echarts.min.js package/LICENSE)
  mkdir -p "$target"
  mv "$work/package/dist/echarts.min.js" "$work/package/LICENSE" "$target/"
  echo "$ECHARTS_VERSION" > "$target/VERSION"
  rm -rf "$work"
}
