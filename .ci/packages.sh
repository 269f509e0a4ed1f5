#!/usr/bin/env bash
# packages.sh - CI for the packages (docs/packaging.md): builds the .debs from the working
# tree's tracked files, runs lintian, installs them with dpkg -i, checks the installed
# agent (logferry check on the default config, systemd-analyze on the unit, an out-of-tree
# plugin built against logferry-dev), forwards a few lines into mock-kafka through the
# installed Kafka plugin as the logferry user, purges everything and checks nothing is
# left; then builds the RPMs from a `meson dist` tarball (of the committed tree).
# Needs root (dpkg -i, the logferry user). Outputs in build-pkg/ (PKG_OUT overrides).
# The unit tests are not run again in the package build (DEB_BUILD_OPTIONS=nocheck):
# .ci/run runs them on the same sources.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
start=$(date +%s)
step() { echo "=== packages: $* ($(($(date +%s) - start)) s)"; }

bash .ci/deps.sh
tools=(debhelper dpkg-dev fakeroot lintian rpm)
missing=()
for p in "${tools[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

[ "$(id -u)" -eq 0 ] || { echo "packages.sh installs packages: run it as root"; exit 1; }
out=${PKG_OUT:-$root/build-pkg}
rm -rf "$out"
mkdir -p "$out"

step "one version: meson.build, debian/changelog, logferry.spec"
ver=$(meson introspect --projectinfo meson.build 2>/dev/null |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["version"])')
deb_ver=$(dpkg-parsechangelog -l packaging/debian/changelog -SVersion)
rpm_ver=$(sed -n 's/^Version: *//p' packaging/rpm/logferry.spec)
[ "${deb_ver%-*}" = "$ver" ] && [ "$rpm_ver" = "$ver" ] || {
  echo "version mismatch: meson.build $ver, debian/changelog $deb_ver, spec $rpm_ver"; exit 1; }

step "dpkg-buildpackage"
src=$out/deb/logferry-$ver
mkdir -p "$src"
git ls-files -z | tar --null -T - -cf - | tar -xf - -C "$src"
cp -a packaging/debian "$src/debian"
(cd "$src" && DEB_BUILD_OPTIONS="nocheck parallel=2" dpkg-buildpackage -us -uc -b) \
  > "$out/deb/build.log" 2>&1 || { tail -50 "$out/deb/build.log"; exit 1; }
debs=()
for p in logferry logferry-kafka logferry-rabbitmq logferry-http logferry-dev; do
  debs+=("$out/deb/${p}_${deb_ver}_$(dpkg --print-architecture).deb")
done
ls -l "${debs[@]}"

step "lintian"
# Overrides, each with its reason: packaging/debian/*.lintian-overrides (--show-overrides
# would list them, but lintian 2.116 then exits 2 under --fail-on).
lintian --fail-on error,warning --display-info --pedantic "$out"/deb/logferry_*.changes

step "dpkg -i"
if dpkg-query -W logferry >/dev/null 2>&1; then
  dpkg --purge logferry-dev logferry-http logferry-kafka logferry-rabbitmq logferry || true
fi
dpkg -i "${debs[@]}"
logferry --version
logferry check -c /etc/logferry/logferry.yaml
id -nG logferry | grep -qw adm || { echo "logferry is not in group adm"; exit 1; }
[ "$(stat -c '%a %U' /var/lib/logferry)" = "750 logferry" ] || {
  echo "/var/lib/logferry: $(stat -c '%a %U' /var/lib/logferry)"; exit 1; }
unit=/lib/systemd/system/logferry.service
systemd-analyze verify "$unit"
systemd-analyze security --offline=true "$unit" | tail -1

step "out-of-tree plugin against logferry-dev"
smoke=$(mktemp -d)
chmod 755 "$smoke"
mkdir "$smoke/plugins"
cp -r examples/out_null "$smoke/src"
make -s -C "$smoke/src" CFLAGS="-O2 -Wall -Wextra -Werror -Wno-unused-parameter"
DESTDIR=$smoke make -s -C "$smoke/src" install PLUGINDIR=/plugins
cat > "$smoke/null.yaml" <<EOF
agent: { state_dir: $smoke/state, plugin_dir: $smoke/plugins }
inputs: [ { name: app, paths: [$smoke/app.log], type: raw } ]
outputs: [ { name: sink, plugin: "null", label: example } ]
EOF
logferry check -c "$smoke/null.yaml"

step "forward into mock-kafka through the installed plugin, as user logferry"
coproc MK { exec "$src"/obj-*/tests/tools/mock-kafka/mock-kafka -t smoke:1; }
mk_pid=$MK_PID
read -r -u "${MK[0]}" bootstrap
printf 'line one\nline two\nline three\n' > "$smoke/app.log"
cat > "$smoke/kafka.yaml" <<EOF
agent: { name: pkg-smoke, state_dir: /var/lib/logferry, shutdown_timeout: 5s }
inputs: [ { name: app, paths: [$smoke/app.log], type: raw, start_at: beginning } ]
outputs: [ { name: main, plugin: kafka, brokers: [$bootstrap], topic: smoke } ]
EOF
chmod 644 "$smoke"/*.yaml "$smoke/app.log"
# A stand-in for systemd's notify socket: records what the agent sends.
python3 - "$smoke/notify.sock" > "$smoke/notify.log" <<'EOF' &
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
os.chmod(sys.argv[1], 0o777)
s.settimeout(60)
while True:
    msg = s.recv(4096).decode()
    print(msg.replace("\n", " "), flush=True)
    if "STOPPING=1" in msg:
        break
EOF
notify_pid=$!
for _ in $(seq 1 50); do [ -S "$smoke/notify.sock" ] && break; sleep 0.1; done
NOTIFY_SOCKET=$smoke/notify.sock setpriv --reuid=logferry --regid=logferry --init-groups \
  logferry run -c "$smoke/kafka.yaml" 2> "$smoke/agent.log" &
agent_pid=$!
hwm=0
for _ in $(seq 1 100); do
  echo "hwm smoke" >&"${MK[1]}"
  read -r -u "${MK[0]}" answer
  hwm=${answer#ok }
  [ "$hwm" = 3 ] && break
  sleep 0.1
done
kcat -C -b "$bootstrap" -t smoke -o beginning -e -q -f '%s\n' > "$smoke/topic.jsonl" || true
kill -TERM "$agent_pid"
agent_rc=0
wait "$agent_pid" || agent_rc=$?
wait "$notify_pid" || true
kill -TERM "$mk_pid"
wait "$mk_pid" || true
cat "$smoke/agent.log"
cat "$smoke/notify.log"
[ "$hwm" = 3 ] || { echo "mock-kafka has $hwm records in topic smoke, expected 3"; exit 1; }
grep -q '"message":"line two"' "$smoke/topic.jsonl" || {
  echo "topic smoke lacks the record of 'line two':"; cat "$smoke/topic.jsonl"; exit 1; }
[ "$agent_rc" = 0 ] || { echo "the agent exited $agent_rc"; exit 1; }
grep -q '^READY=1' "$smoke/notify.log" && grep -q '^STOPPING=1' "$smoke/notify.log" || {
  echo "expected READY=1 and STOPPING=1 on the notify socket"; exit 1; }
[ -z "$(find /var/lib/logferry -not -user logferry)" ] || {
  echo "files in /var/lib/logferry not owned by logferry"; exit 1; }
rm -rf "$smoke"

step "dpkg --purge"
dpkg --purge logferry-dev logferry-http logferry-kafka logferry-rabbitmq logferry
left=$(ls -d /etc/logferry /etc/logrotate.d/logferry /var/lib/logferry /var/log/logferry \
  /usr/lib/*/logferry /usr/include/logferry /usr/share/doc/logferry* "$unit" \
  /usr/bin/logferry 2>/dev/null || true)
[ -z "$left" ] || { echo "left behind after purge: $left"; exit 1; }
! dpkg-query -W 'logferry*' 2>/dev/null | grep -q . || { echo "packages still known to dpkg"; exit 1; }

step "rpmbuild from a meson dist tarball"
meson setup "$out/dist" -Dintegration_tests=false > /dev/null
# meson dist packs the committed tree (HEAD), never the working tree: --allow-dirty
# only lets a developer with local edits run this script.
meson dist -C "$out/dist" --no-tests --allow-dirty --formats xztar > /dev/null
mkdir -p "$out/rpm/SOURCES"
cp "$out/dist/meson-dist/logferry-$ver.tar.xz" "$out/rpm/SOURCES/"
rpmbuild --nodeps --define "_topdir $out/rpm" --define "_smp_mflags -j2" \
  -bb packaging/rpm/logferry.spec > "$out/rpm/build.log" 2>&1 || {
  tail -50 "$out/rpm/build.log"; exit 1; }
for r in "$out"/rpm/RPMS/*/*.rpm; do
  echo "$(basename "$r") $(stat -c %s "$r") bytes"
  rpm -qlp "$r" | sed 's/^/  /'
done

echo "packages passed in $(($(date +%s) - start)) s"
