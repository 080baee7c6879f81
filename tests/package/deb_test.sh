#!/usr/bin/env bash
# deb_test.sh BUILD_DIR VERSION: builds the Debian package from the built tree (cpack installs
# what is built; it builds nothing), unpacks it into a temporary root with `dpkg -x` and checks
# what an operator gets: the control fields, the files, the binary's version line, the default
# config (swarmd accepts it), the man page, the bash completion (every command and flag of
# `swarmd --help`) and the systemd unit (`systemd-analyze verify`, where systemd-analyze exists).
set -euo pipefail
build=$1 version=$2

if ! command -v dpkg-deb >/dev/null; then
    echo "SKIP: dpkg-deb is not installed, so the Debian package cannot be built or unpacked"
    exit 77
fi
for f in "$build/node/swarmd" "$build/packaging/swarmd.1.gz"; do
    [[ -f "$f" ]] || { echo "FAIL: $f is not built (build the swarmd and swarmd_man targets)"; exit 1; }
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

cpack --config "$build/CPackConfig.cmake" -G DEB -B "$tmp/out" >"$tmp/cpack.log" 2>&1 ||
    { cat "$tmp/cpack.log"; fail "cpack -G DEB failed"; }
deb="$tmp/out/swarmd_${version}_amd64.deb"
[[ -f "$deb" ]] || fail "no $(basename "$deb"); cpack wrote: $(ls "$tmp/out")"
echo "built $(basename "$deb") ($(du -k "$deb" | cut -f1) KiB)"

# Control fields and maintainer scripts.
field() { dpkg-deb -f "$deb" "$1"; }
[[ $(field Package) == swarmd ]] || fail "Package is '$(field Package)'"
[[ $(field Version) == "$version" ]] || fail "Version is '$(field Version)'"
[[ $(field Architecture) == amd64 ]] || fail "Architecture is '$(field Architecture)'"
depends=$(field Depends)
[[ "$depends" == *adduser* ]] || fail "Depends lacks adduser: $depends"
[[ "$depends" == *libsodium* ]] || fail "Depends lacks the shared libraries (no libsodium): $depends"
mkdir "$tmp/control"
dpkg-deb -e "$deb" "$tmp/control"
grep -qx /etc/swarmd/swarmd.toml "$tmp/control/conffiles" || fail "/etc/swarmd/swarmd.toml is not a conffile"
for s in postinst prerm postrm; do
    [[ -x "$tmp/control/$s" ]] || fail "$s missing or not executable"
    sh -n "$tmp/control/$s" || fail "$s does not parse"
done
grep -q 'systemd-sysusers' "$tmp/control/postinst" && grep -q 'adduser --system' "$tmp/control/postinst" ||
    fail "postinst does not create the swarmd user"

# The files, in a clean directory root.
root="$tmp/root"
dpkg -x "$deb" "$root"
for f in usr/bin/swarmd usr/lib/systemd/system/swarmd.service usr/lib/sysusers.d/swarmd.conf \
    etc/swarmd/swarmd.toml usr/share/man/man1/swarmd.1.gz usr/share/bash-completion/completions/swarmd; do
    [[ -f "$root/$f" ]] || fail "/$f is not in the package"
done
[[ -x "$root/usr/bin/swarmd" ]] || fail "/usr/bin/swarmd is not executable"
file_list=$(dpkg-deb -c "$deb" | awk '{print $2 " " $6}')
grep -q '^root/root ./usr/bin/swarmd$' <<<"$file_list" || fail "/usr/bin/swarmd is not owned by root: $file_list"

# The unpacked binary runs and names its version and revision.
line=$("$root/usr/bin/swarmd" --version)
[[ "$line" =~ ^swarmd\ ${version//./\\.}\ \(git\ [0-9A-Za-z._+-]+\)$ ]] || fail "swarmd --version printed '$line'"
echo "$line"
# It was stripped (debug info stays in the build tree).
if command -v readelf >/dev/null && readelf -S "$root/usr/bin/swarmd" | grep -q '\.debug_info'; then
    fail "/usr/bin/swarmd still has debug info"
fi

# The default config is one swarmd accepts.
"$root/usr/bin/swarmd" --config "$root/etc/swarmd/swarmd.toml" spec show --id >"$tmp/id" 2>"$tmp/err" ||
    fail "swarmd rejects the shipped config: $(cat "$tmp/err")"
grep -Eq '^[0-9a-f]{16,}$' "$tmp/id" || fail "spec show --id with the shipped config printed '$(cat "$tmp/id")'"

# The man page renders without warnings and documents every node option.
if command -v man >/dev/null; then
    page=$(MANWIDTH=100 man --warnings -l "$root/usr/share/man/man1/swarmd.1.gz" 2>"$tmp/manerr")
    [[ ! -s "$tmp/manerr" ]] || fail "man page warnings: $(cat "$tmp/manerr")"
    [[ "$page" == *"swarmd $version"* ]] || fail "the man page does not name version $version"
fi
help=$("$root/usr/bin/swarmd" --help)
completion="$root/usr/share/bash-completion/completions/swarmd"
bash -n "$completion" || fail "the bash completion does not parse"
flags=$(grep -oE -- '--[a-z][a-z-]+' <<<"$help" | sort -u)
for command in keygen id "spec show" "spec check" run status merge doctor "p2p listen" "p2p ping" \
    "p2p identify" "p2p sub" "p2p pub"; do
    # shellcheck disable=SC2086
    flags+=$'\n'$("$root/usr/bin/swarmd" $command --help | grep -oE -- '--[a-z][a-z-]+' || true)
    for word in $command; do grep -qw -- "$word" "$completion" || fail "the completion lacks '$word'"; done
done
for flag in $(sort -u <<<"$flags"); do
    if command -v man >/dev/null && [[ "$help" == *"$flag"* && "$page" != *"$flag"* ]]; then
        fail "the man page does not document $flag"
    fi
    grep -q -- "$flag\b" "$completion" || fail "the bash completion lacks $flag"
done

# The completion completes: commands, subcommands, option values.
complete_line() {
    bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMPREPLY=(); _swarmd
             printf "%s\n" "${COMPREPLY[@]}" | sort | tr "\n" " "' complete "$completion" "$@"
}
[[ $(complete_line swarmd "") == "doctor id keygen merge p2p run spec status " ]] ||
    fail "'swarmd <TAB>' completes to '$(complete_line swarmd "")'"
[[ $(complete_line swarmd --data-dir /tmp spec "") == "check show " ]] ||
    fail "'swarmd spec <TAB>' completes to '$(complete_line swarmd --data-dir /tmp spec "")'"
[[ $(complete_line swarmd p2p "") == "identify listen ping pub sub " ]] ||
    fail "'swarmd p2p <TAB>' completes to '$(complete_line swarmd p2p "")'"
[[ $(complete_line swarmd run --log-format "") == "json text " ]] ||
    fail "'swarmd run --log-format <TAB>' completes to '$(complete_line swarmd run --log-format "")'"
[[ $(complete_line swarmd run --bootstrap-n) == "--bootstrap-node " ]] ||
    fail "'swarmd run --bootstrap-n<TAB>' completes to '$(complete_line swarmd run --bootstrap-n)'"

# The unit: a dedicated user, the state directory, hardening, and systemd's own check.
unit="$root/usr/lib/systemd/system/swarmd.service"
for setting in User=swarmd ExecStart=/usr/bin/swarmd StateDirectory=swarmd NoNewPrivileges=true \
    ProtectSystem=strict ProtectHome=true PrivateTmp=true; do
    grep -q "^$setting" "$unit" || fail "the unit lacks $setting"
done
grep -q '^u swarmd ' "$root/usr/lib/sysusers.d/swarmd.conf" || fail "sysusers.d does not declare the swarmd user"
# What postinst runs, into a scratch root: a system user and group swarmd, home
# /var/lib/swarmd, no login shell.
if command -v systemd-sysusers >/dev/null; then
    mkdir -p "$tmp/users/etc"
    systemd-sysusers --root="$tmp/users" "$root/usr/lib/sysusers.d/swarmd.conf" >/dev/null 2>&1 ||
        fail "systemd-sysusers rejects /usr/lib/sysusers.d/swarmd.conf"
    IFS=: read -r name _ uid gid _ home shell < <(grep '^swarmd:' "$tmp/users/etc/passwd") ||
        fail "systemd-sysusers made no swarmd user"
    [[ $home == /var/lib/swarmd && $shell == */nologin && $uid -lt 1000 && $uid == "$gid" ]] ||
        fail "the swarmd user is $name uid $uid gid $gid home $home shell $shell"
    grep -q "^swarmd:x:$gid:" "$tmp/users/etc/group" || fail "systemd-sysusers made no swarmd group"
    echo "systemd-sysusers: system user swarmd ($uid), home $home, shell $shell"
fi
if command -v systemd-analyze >/dev/null; then
    # systemd checks the unit in a root that has the standard units (sysinit.target, ...) and
    # the package's binary where ExecStart names it; man swarmd(1) resolves to the package's page.
    vroot="$tmp/verify-root"
    mkdir -p "$vroot/usr/lib/systemd" "$vroot/usr/bin"
    if [[ -d /usr/lib/systemd/system ]]; then cp -a /usr/lib/systemd/system "$vroot/usr/lib/systemd/"; fi
    mkdir -p "$vroot/usr/lib/systemd/system"
    cp "$unit" "$vroot/usr/lib/systemd/system/swarmd.service"
    cp "$root/usr/bin/swarmd" "$vroot/usr/bin/swarmd"
    MANPATH="$root/usr/share/man" systemd-analyze verify --root="$vroot" \
        "$vroot/usr/lib/systemd/system/swarmd.service" >"$tmp/verify" 2>&1 ||
        { cat "$tmp/verify"; fail "systemd-analyze verify rejects the unit"; }
    [[ ! -s "$tmp/verify" ]] || { cat "$tmp/verify"; fail "systemd-analyze verify warns about the unit"; }
    echo "systemd-analyze verify: the unit is valid"
    # systemd's own exposure score of the sandbox (0 = fully confined, 10 = none); 1.7 when
    # written. Older systemd without --offline skips this part.
    if systemd-analyze security --offline=true --root="$vroot" swarmd.service >"$tmp/security" 2>&1; then
        score=$(grep -oE 'Overall exposure level for swarmd.service: [0-9.]+' "$tmp/security" | awk '{print $NF}')
        [[ -n "$score" ]] || { cat "$tmp/security"; fail "no exposure level from systemd-analyze security"; }
        awk -v s="$score" 'BEGIN { exit !(s <= 2.5) }' ||
            { cat "$tmp/security"; fail "the unit's exposure level is $score (more than 2.5)"; }
        echo "systemd-analyze security: exposure level $score"
    else
        echo "systemd-analyze security --offline is not available here: the exposure level is left out"
    fi
else
    echo "systemd-analyze is not installed: the unit's own check is left out"
fi
echo "the package unpacks into a clean root and its swarmd, config, man page, completion and unit check out"
