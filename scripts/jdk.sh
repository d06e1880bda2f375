# Sourced by ./vit and ./build: sets JAVA_HOME to a JDK >= 21 (JAVA_HOME if it qualifies, else the usual
# install locations) and VIT_JAVA_MAJOR to its feature version, or exits with a clear message.

vit_java_major() { # prints the feature version of the JDK at $1, or nothing
  [ -x "$1/bin/java" ] && [ -x "$1/bin/javac" ] || return 0
  "$1/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p' | head -n1
}

vit_find_jdk() {
  local candidate major
  for candidate in "${JAVA_HOME:-}" "${TORNADOVM_JAVA_HOME:-}" \
      /usr/lib/jvm/temurin-2[1-9]*-jdk* /usr/lib/jvm/java-2[1-9]*-openjdk* /usr/lib/jvm/jdk-2[1-9]* \
      /usr/lib/jvm/*2[1-9]* /opt/java/openjdk /Library/Java/JavaVirtualMachines/*/Contents/Home \
      "$(dirname "$(dirname "$(readlink -f "$(command -v javac 2>/dev/null || echo /nonexistent)")")")"; do
    [ -n "$candidate" ] && [ -d "$candidate" ] || continue
    major=$(vit_java_major "$candidate")
    if [ -n "$major" ] && [ "$major" -ge 21 ] 2>/dev/null; then
      export JAVA_HOME="$candidate"
      VIT_JAVA_MAJOR="$major"
      return 0
    fi
  done
  echo "vit: no JDK 21 or newer found (looked at JAVA_HOME and /usr/lib/jvm); install one and set JAVA_HOME" >&2
  exit 1
}

vit_find_jdk
