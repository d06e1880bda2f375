# Sourced by ./vit and by the GPU kit's launcher: sets the array `flags` to the JVM options the CLI runs with.
#
# JIT flags for a short start (docs/performance.md, "Load and first inference"): the cpu engine's methods reach C2
# after 3 % of the usual calls; C2 compiles a running loop (OSR) only after 10x the usual back-edges, so the warm-up's
# short loops do not queue big OSR compilations ahead of the ones it waits for; and below 4 CPUs, where HotSpot has
# one C2 thread, a second one.
flags=(--add-modules jdk.incubator.vector -XX:+UseParallelGC -Xss4m -Xmn48m --enable-native-access=ALL-UNNAMED
  -XX:CompileCommand=quiet '-XX:CompileCommand=CompileThresholdScaling,dev.vitjava.engine.cpu.*::*,0.03'
  -XX:Tier4BackEdgeThreshold=400000)
if [ "$(nproc 2>/dev/null || echo 4)" -lt 4 ]; then
  flags+=(-XX:CICompilerCount=3)
fi
