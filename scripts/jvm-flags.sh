# Sourced by ./vit and by the GPU kit's launcher, with the command's arguments: sets the array `flags` to the JVM
# options the CLI runs with.
#
# JIT flags for a short start (docs/performance.md, "Load and first inference"): the cpu engine's methods reach C2
# after 3 % of the usual calls; C2 compiles a running loop (OSR) only after 10x the usual back-edges, so the warm-up's
# short loops do not queue big OSR compilations ahead of the ones it waits for; and below 4 CPUs, where HotSpot has
# one C2 thread, a second one, unless the command runs the tornado backend: TornadoVM compiles its kernels (Graal,
# then the OpenCL driver) on the main thread, and the third compiler thread took CPU from it (vit_tiny on PoCL, 2 CPUs:
# 3.0 s of kernel compilation with it, 2.6 s without).
flags=(--add-modules jdk.incubator.vector -XX:+UseParallelGC -Xss4m -Xmn48m --enable-native-access=ALL-UNNAMED
  -XX:CompileCommand=quiet '-XX:CompileCommand=CompileThresholdScaling,dev.vitjava.engine.cpu.*::*,0.03'
  -XX:Tier4BackEdgeThreshold=400000)
vit_tornado=false
vit_previous=
for vit_arg in "$@"; do
  if [[ $vit_arg == --backend=tornado || ($vit_previous == --backend && $vit_arg == tornado) ]]; then
    vit_tornado=true
  fi
  vit_previous=$vit_arg
done
if [ "$(nproc 2>/dev/null || echo 4)" -lt 4 ] && [ "$vit_tornado" = false ]; then
  flags+=(-XX:CICompilerCount=3)
fi
unset vit_tornado vit_previous vit_arg
