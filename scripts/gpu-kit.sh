#!/usr/bin/env bash
# Builds the GPU kit: a self-contained bundle that runs the tornado backend's checks on a machine with a GPU driver
# but no Java, no Maven and no network (docs/performance.md, "The GPU kit").
#
#   TORNADOVM_HOME=/opt/tornadovm scripts/gpu-kit.sh [OUT.tar.xz]     (default: kit/vit-gpu-kit.tar.xz)
#
# It takes an SDK that is already built (TORNADOVM_HOME, with the OpenCL and/or PTX backend) and never builds
# TornadoVM. The kit holds:
#   jre/        a jlinked Java runtime with the modules TornadoVM and vit need (from the JDK ./build uses)
#   tornado/    the SDK's runtime part: core jars, one folder per backend (tornado-opencl, tornado-ptx), the Graal
#               compiler jars, the native libraries and the argfile template
#   lib/        vit.jar, vit-tornado.jar, the test-only jars (JUnit's console launcher, AssertJ), libOpenCL.so.1
#   tests/      the compiled tornado tests of vit-tests and vit-tornado, with their golden files
#   samples/    the shipped sample images (the classify test reads ../samples)
#   bin/vit     the launcher;  gpu-check.sh  the check (scripts/gpu-check.sh)
# Jars are stored uncompressed so that xz compresses classes across files: the kit must stay under 64 MiB.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${1:-$root/kit/vit-gpu-kit.tar.xz}"
. "$root/scripts/jdk.sh"

die() { echo "gpu-kit: $*" >&2; exit 1; }
sdk="${TORNADOVM_HOME:-}"
[ -n "$sdk" ] && [ -f "$sdk/tornado-argfile.template" ] \
  || die "TORNADOVM_HOME must point at a built TornadoVM SDK (with tornado-argfile.template)"
for tool in zip xz; do
  command -v "$tool" >/dev/null || die "needs '$tool' on PATH"
done

# The SDK's jars: core in share/java/tornado, a backend's driver there or (as /opt/tornadovm lays it out on machines
# without CUDA) in share/java/tornado-<backend>.
find_jar() { # name-prefix -> path of the newest matching jar, or nothing
  ls -t "$sdk"/share/java/tornado*/"$1"-[0-9]*.jar 2>/dev/null | grep -v -- '-libs.jar' | head -n1 || true
}
ptx_jar=$(find_jar tornado-drivers-ptx)
opencl_jar=$(find_jar tornado-drivers-opencl)
[ -n "$ptx_jar" ] || [ -n "$opencl_jar" ] || die "the SDK at $sdk has neither the PTX nor the OpenCL driver"
[ -n "$ptx_jar" ] && [ -f "$sdk/lib/libtornado-ptx.so" ] || echo "gpu-kit: warning: no PTX backend in the SDK" >&2

echo "gpu-kit: building vit with TornadoVM ($sdk)..." >&2
TORNADOVM_HOME="$sdk" "$root/build" -B -ntp -q -DskipTests install
mvn_cp() { # module -> its test class path (jars only) from Maven
  local f; f=$(mktemp)
  (cd "$root" && TORNADOVM_HOME="$sdk" mvn -B -ntp -q -pl "$1" dependency:build-classpath \
      -Dmdep.includeScope=test -Dmdep.outputFile="$f" >/dev/null)
  tr ':' '\n' <"$f"; rm -f "$f"
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
kit="$work/vit-gpu-kit"
mkdir -p "$kit"/{bin,lib,tests,tornado/share/java/tornado,tornado/share/java/graalJars}

# Re-stores a jar without compression (xz then compresses the whole kit far better than deflate did).
store() { # src.jar dest.jar
  local x="$work/x"; rm -rf "$x"; mkdir -p "$x"
  (cd "$x" && "$JAVA_HOME/bin/jar" -xf "$1")
  (cd "$x" && zip -q -0 -X -r "$2" .)
}

echo "gpu-kit: Java runtime (jlink)..." >&2
"$JAVA_HOME/bin/jlink" --add-modules java.base,java.compiler,java.desktop,java.logging,java.management,java.net.http,java.sql,jdk.incubator.vector,jdk.internal.vm.ci,jdk.management,jdk.unsupported,jdk.zipfs \
  --strip-debug --no-man-pages --no-header-files --compress=zip-0 --output "$kit/jre" \
  --exclude-files='**/libawt_xawt.so,**/libjawt.so,**/libsplashscreen.so,**/libjsound.so,**/libfontmanager.so,**/libfreetype.so'
# (headless: no windows, sound, splash screen or fonts)
# The native libraries' symbol tables (5 MB of libjvm.so) serve debuggers only; the kit must fit beside the tree.
command -v strip >/dev/null && find "$kit/jre" -name '*.so' -exec strip --strip-unneeded {} +

echo "gpu-kit: TornadoVM runtime..." >&2
cp -r "$sdk/etc" "$kit/tornado/"
mkdir -p "$kit/tornado/lib"
cp "$sdk"/lib/libtornado-*.so "$kit/tornado/lib/"
cp "$sdk/tornado-argfile.template" "$kit/tornado/"
# What tornado.runtime, tornado.drivers.* and jdk.graal.compiler require (jar --describe-module); the examples,
# benchmarks, unit tests and CUDA library bindings stay behind.
for name in tornado-api tornado-runtime tornado-annotation tornado-matrices tornado-drivers-common commons-math3 \
    snmp4j asm ejml-core ejml-simple ejml-ddense ejml-dsparse; do
  jar=$(find_jar "$name")
  [ -n "$jar" ] || die "the SDK at $sdk has no $name jar"
  store "$jar" "$kit/tornado/share/java/tornado/$(basename "$jar")"
done
for backend in opencl ptx; do
  jar=$(find_jar "tornado-drivers-$backend")
  [ -n "$jar" ] || continue
  mkdir -p "$kit/tornado/share/java/tornado-$backend"
  store "$jar" "$kit/tornado/share/java/tornado-$backend/$(basename "$jar")"
done
for jar in "$sdk"/share/java/graalJars/{compiler,collections,word,truffle-compiler}-*.jar; do
  store "$jar" "$kit/tornado/share/java/graalJars/$(basename "$jar")"
done
# The OpenCL ICD loader, for a driver that ships its OpenCL library without one.
icd=$(ldconfig -p 2>/dev/null | awk '/libOpenCL\.so\.1 /{print $NF; exit}')
if [ -n "$icd" ]; then
  mkdir -p "$kit/lib/native" && cp -L "$icd" "$kit/lib/native/libOpenCL.so.1"
fi

echo "gpu-kit: vit jars and tests..." >&2
store "$root/vit-cli/target/vit.jar" "$kit/lib/vit.jar"
tornado_jar=$(ls "$root"/vit-tornado/target/vit-tornado-*.jar | grep -v -E 'sources|tests' | head -n1)
store "$tornado_jar" "$kit/lib/vit-tornado.jar"
mkdir -p "$kit/lib/test"
for jar in $(mvn_cp vit-tests); do
  case "$(basename "$jar")" in
    assertj-*) cp "$jar" "$kit/lib/test/" ;; # byte-buddy stays behind: only soft assertions need it
  esac
done
junit_platform=$(sed -n 's:.*<junit.version>5\.\(.*\)</junit.version>.*:1.\1:p' "$root/pom.xml")
(cd "$root" && mvn -B -ntp -q dependency:copy \
    -Dartifact="org.junit.platform:junit-platform-console-standalone:$junit_platform" -DoutputDirectory="$kit/lib/test")
cp -r "$root/vit-tests/target/test-classes" "$kit/tests/vit-tests"
# The kit runs the tornado and backend-contract tests only: the checkpoint-format and training goldens (about 12 MB)
# stay behind, since the kit and the working tree must travel together in 64 MiB.
rm -rf "$kit/tests/vit-tests/formats" "$kit/tests/vit-tests/golden/formats" "$kit/tests/vit-tests/golden/train" \
  "$kit/tests/vit-tests/golden"/*.py
cp -r "$root/vit-tornado/target/test-classes" "$kit/tests/vit-tornado"
cp -r "$root/samples" "$kit/samples"

cp "$root/scripts/jvm-flags.sh" "$kit/bin/"
cp "$root/scripts/gpu-check.sh" "$kit/gpu-check.sh"
cat >"$kit/bin/vit" <<'LAUNCHER'
#!/usr/bin/env bash
# vit from the GPU kit: its Java runtime and TornadoVM (the argfile gpu-check.sh writes for the chosen backends).
set -euo pipefail
kit="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$kit/bin/jvm-flags.sh"
# shellcheck disable=SC2086
exec "$kit/jre/bin/java" "${flags[@]}" "@${VIT_TORNADO_ARGFILE:-$kit/tornado/tornado-argfile}" ${JAVA_OPTS:-} \
  -cp "$kit/lib/vit.jar:$kit/lib/vit-tornado.jar" dev.vitjava.cli.Main "$@"
LAUNCHER
chmod +x "$kit/bin/vit" "$kit/gpu-check.sh"
{
  echo "commit $(git -C "$root" rev-parse HEAD)$(git -C "$root" diff --quiet HEAD || echo ' (with local changes)')"
  echo "built $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "java $("$kit/jre/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.runtime.version = //p')"
  echo "tornadovm $(basename "$(ls "$kit"/tornado/share/java/tornado/tornado-api-*.jar)" .jar | sed 's/tornado-api-//')"
  echo "backends $(ls -d "$kit"/tornado/share/java/tornado-* | sed 's:.*/tornado-::' | tr '\n' ' ')"
} >"$kit/VERSION"

mkdir -p "$(dirname "$out")"
tmp="$out.tmp.$$"
tar -C "$work" -cf - vit-gpu-kit | xz -9e -T2 --block-size=96MiB >"$tmp"
mv "$tmp" "$out"
size=$(stat -c %s "$out")
echo "gpu-kit: $out ($((size / 1024 / 1024)) MiB; $(du -sh "$kit" | cut -f1) unpacked)" >&2
# A device run carries the kit together with the project's tracked files.
tree=$(git -C "$root" ls-files -z | (cd "$root" && xargs -0 stat -c %s 2>/dev/null) | awk '{n += $1} END {print n + 0}')
echo "gpu-kit: with the working tree ($((tree / 1024 / 1024)) MiB) a device run carries $(((size + tree) / 1024 / 1024)) MiB" >&2
[ $((size + tree)) -lt $((64 * 1024 * 1024)) ] \
  || die "the kit ($size bytes) and the working tree ($tree bytes) are over the 64 MiB a device run can carry"
