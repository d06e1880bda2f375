package dev.vitjava.engine.cpu;

/**
 * Receives the wall time of each stage of a {@link CpuEngine} forward pass while {@link CpuEngine#profile} runs.
 * With no profiler set the engine only tests a null reference per stage.
 */
@FunctionalInterface
interface StageProfiler {

    /** The stages, in forward order; {@link #key()} is the name used in reports. */
    enum Stage {
        PATCH_EMBED("patch_embed"),
        NORM("norm"),
        QKV("qkv"),
        ATTENTION("attention"),
        PROJ("proj"),
        MLP_FC1("mlp_fc1_gelu"),
        MLP_FC2("mlp_fc2"),
        HEAD("pool_head");

        private final String key;

        Stage(String key) {
            this.key = key;
        }

        String key() {
            return key;
        }
    }

    /** Called on the forward thread after each stage (several times per stage and pass: once per block). */
    void record(Stage stage, long nanos);
}
