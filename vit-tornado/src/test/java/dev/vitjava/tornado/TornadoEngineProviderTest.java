package dev.vitjava.tornado;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vitjava.VitException;
import dev.vitjava.engine.Backends;
import dev.vitjava.engine.DeviceProfile;
import dev.vitjava.engine.EngineOptions;
import dev.vitjava.engine.EngineProvider;
import dev.vitjava.engine.InferenceEngine;
import dev.vitjava.engine.ReferenceEngine;
import dev.vitjava.model.RandomWeights;
import dev.vitjava.model.ViTConfig;
import dev.vitjava.model.ViTConfig.GlobalPool;
import dev.vitjava.model.ViTModel;
import dev.vitjava.tensor.Tensor;
import dev.vitjava.tornado.kernels.Tiles;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Discovery through the service loader, the device list and selection, and the profiler. */
class TornadoEngineProviderTest {

    static ViTModel tinyModel() {
        ViTConfig c = new ViTConfig(8, 8, 4, 3, 3, 16, 1, 2, 32, true, 1e-6, true, GlobalPool.TOKEN);
        return new ViTModel(c, RandomWeights.create(c, 3));
    }

    @Test
    void theServiceLoaderFindsTheBackendAndItIsAvailableUnderTheArgfile() {
        EngineProvider provider = Backends.find("tornado");
        assertThat(provider).isInstanceOf(TornadoEngineProvider.class);
        assertThat(provider.unavailableReason()).isEmpty();
        assertThat(provider.description()).contains("TornadoVM");
    }

    @Test
    void devicesAreListedWithTheirProperties() {
        List<Map<String, String>> devices = new TornadoEngineProvider().devices();
        assertThat(devices).isNotEmpty();
        Map<String, String> first = devices.get(0);
        assertThat(first.get("id")).isEqualTo("0:0");
        assertThat(first).containsKeys("backend", "name", "type", "global_memory", "local_memory", "max_work_group");
        assertThat(first.get("default")).isEqualTo("true");
        System.out.println("devices: " + devices);
    }

    private static EngineOptions device(String id) {
        return EngineOptions.defaults().with(TornadoEngineProvider.DEVICE, id);
    }

    /**
     * One compiled plan runs every batch and image size its buffers hold, each at its own size, on the one copy of the
     * weights it moved (classify's last partial batch; other image sizes, with the position embedding resampled); a
     * call that does not fit replaces the plan by one that holds both. In both kernel forms, against the reference.
     */
    @ParameterizedTest
    @ValueSource(strings = {"gpu", "cpu"})
    void onePlanRunsEveryShapeItHoldsAndAShapeItDoesNotGrowsIt(String form) {
        // one head of 16 dimensions: the smallest flashCpu takes
        ViTConfig c = new ViTConfig(8, 8, 4, 3, 3, 16, 1, 1, 32, true, 1e-6, true, GlobalPool.TOKEN);
        ViTModel model = new ViTModel(c, RandomWeights.create(c, 9));
        ReferenceEngine reference = new ReferenceEngine(model);
        try (TornadoEngine engine = TornadoEngine.open(model, EngineOptions.defaults().with("kernels", form))) {
            matchesTheReference(engine, reference, 3, 8, 8);
            matchesTheReference(engine, reference, 1, 8, 8);
            matchesTheReference(engine, reference, 2, 4, 8); // 1x2 patches
            matchesTheReference(engine, reference, 3, 8, 8);
            assertThat(engine.plansCompiled()).isEqualTo(1);
            // 3x3 patches: a plan for up to 3 images of up to 9 patches, 18 in all
            matchesTheReference(engine, reference, 2, 12, 12);
            matchesTheReference(engine, reference, 3, 4, 8);
            matchesTheReference(engine, reference, 1, 8, 8);
            assertThat(engine.plansCompiled()).isEqualTo(2);
            matchesTheReference(engine, reference, 3, 12, 12); // 27 patches in all
            assertThat(engine.plansCompiled()).isEqualTo(3);
            matchesTheReference(engine, reference, 5, 8, 4); // 5 images
            assertThat(engine.plansCompiled()).isEqualTo(4);
        }
    }

    private static void matchesTheReference(TornadoEngine engine, ReferenceEngine reference, int batch, int height,
            int width) {
        Tensor pixels = RandomWeights.pixels(batch * 100 + height * 10 + width, batch, 3, height, width);
        float[] expected = reference.forward(pixels, false).logits().toArray();
        Tensor logits = engine.forward(pixels, false).logits();
        assertThat(logits.shape()).containsExactly(batch, 3);
        for (int i = 0; i < expected.length; i++) {
            assertThat(logits.get(i)).as("%d images of %dx%d, logit %d", batch, height, width, i)
                    .isCloseTo(expected[i], org.assertj.core.data.Offset.offset(1e-5f));
        }
    }

    /**
     * The warm-up compiles the plan and moves the weights before the first image: the first forward pass after it
     * copies in the pixels only, where an engine's first pass without it copies in the weights too; and it leaves
     * the plan computing what it computes without one.
     */
    @Test
    void theWarmUpCompilesAndMovesTheWeightsBeforeTheFirstImage() {
        ViTModel model = tinyModel();
        Tensor pixels = RandomWeights.pixels(7, 2, 3, 8, 8);
        // the pixels and the table of positions (plus the class token) of 5 tokens of 16
        long inputBytes = (2L * 3 * 8 * 8 + 5 * 16) * Float.BYTES;
        float[] expected;
        try (TornadoEngine cold = TornadoEngine.open(model, EngineOptions.defaults())) {
            cold.setProfiling(true);
            expected = cold.forward(pixels, false).logits().toArray();
            assertThat(cold.lastProfile().orElseThrow().bytesIn())
                    .isGreaterThan(model.weights().parameterCount() * Float.BYTES);
        }
        try (TornadoEngine warm = TornadoEngine.open(model, EngineOptions.defaults())) {
            warm.warmUp(2, 8, 8);
            assertThat(warm.plansCompiled()).isEqualTo(1);
            warm.warmUp(1, 8, 8); // the batch-2 plan serves it: nothing to do
            warm.setProfiling(true);
            float[] logits = warm.forward(pixels, false).logits().toArray();
            DeviceProfile first = warm.lastProfile().orElseThrow();
            assertThat(first.bytesIn()).isBetween(inputBytes, inputBytes + 64L * (first.kernels().size() + 1));
            assertThat(warm.plansCompiled()).isEqualTo(1);
            assertThat(logits).containsExactly(expected); // the same kernels on the same data
            assertThatThrownBy(() -> warm.warmUp(1, 9, 8)).isInstanceOf(VitException.class)
                    .hasMessageContaining("input size 9x8 is not a multiple of the patch size 4");
        }
    }

    /**
     * --kernels overrides the device-type table: each form runs where asked, and both match the reference; so do the
     * gpu forms with other tile sizes (--tiles).
     */
    @Test
    void eitherKernelFormCanBeChosenAndBothMatchTheReference() {
        // one head of 16 dimensions: the smallest flashCpu takes
        ViTConfig c = new ViTConfig(8, 8, 4, 3, 3, 16, 1, 1, 32, true, 1e-6, true, GlobalPool.TOKEN);
        ViTModel model = new ViTModel(c, RandomWeights.create(c, 5));
        Tensor pixels = RandomWeights.pixels(11, 3, 3, 8, 8);
        float[] reference = new ReferenceEngine(model).forward(pixels, false).logits().toArray();
        for (String form : List.of("gpu", "cpu")) {
            try (TornadoEngine engine = TornadoEngine.open(model, EngineOptions.defaults().with("kernels", form))) {
                DeviceProfile p = engine.profileDevice(pixels, 1, 1);
                String chosen = form.equals("cpu") ? "Cpu" : "";
                String other = form.equals("cpu") ? "" : "Cpu";
                assertThat(p.nanosByMethod()).as(form)
                        .containsKeys("MatMul.linear" + chosen, "Attention.flash" + chosen)
                        .doesNotContainKeys("MatMul.linear" + other, "Attention.flash" + other);
                float[] logits = engine.forward(pixels, false).logits().toArray();
                for (int i = 0; i < logits.length; i++) {
                    assertThat(logits[i]).as("%s logit %d", form, i).isCloseTo(reference[i],
                            org.assertj.core.data.Offset.offset(1e-5f));
                }
            }
        }
        // the gpu forms with other tile sizes (--tiles), not square
        try (TornadoEngine engine = TornadoEngine.open(model, EngineOptions.defaults().with("kernels", "gpu")
                .with("tiles", "8x4x8,16x8"))) {
            assertThat(engine.tiles()).isEqualTo(new Tiles(8, 4, 8, 16, 8));
            float[] logits = engine.forward(pixels, false).logits().toArray();
            for (int i = 0; i < logits.length; i++) {
                assertThat(logits[i]).as("tiles 8x4x8,16x8, logit %d", i).isCloseTo(reference[i],
                        org.assertj.core.data.Offset.offset(1e-5f));
            }
        }
        assertThatThrownBy(() -> TornadoEngine.create(model, EngineOptions.defaults().with("tiles", "16x16")))
                .isInstanceOf(VitException.class)
                .hasMessage("tornado setting tiles: tile sizes '16x16' are not GXxGYxGK,QxKV (e.g. 16x16x16,64x32)");
        assertThatThrownBy(() -> TornadoEngine.create(model, EngineOptions.defaults().with("kernels", "fpga")))
                .isInstanceOf(VitException.class).hasMessageContaining("'fpga' is not auto, gpu or cpu");
        assertThatThrownBy(() -> TornadoEngine.create(model, EngineOptions.defaults().with("kernels", "cpu")
                .with("precision", "fp16"))).isInstanceOf(VitException.class)
                .hasMessageMatching(".*(no half-precision weights|no half-precision support).*");
    }

    /**
     * TornadoVM bakes scalar arguments into the code it generates, so the linear layers and the norms take their sizes
     * from device arrays: then every linear task of a plan (patch embedding, qkv, proj, fc1, fc2, head) prints the
     * same OpenCL source, and so do the norms, which is what lets the driver's program cache build each once. With
     * the sizes as int arguments, each linear layer was a source of its own.
     */
    @Test
    void theLinearLayersOfAPlanShareOneSourceAndSoDoItsNorms() {
        Tensor pixels = RandomWeights.pixels(2, 2, 3, 8, 8);
        for (String form : List.of("cpu", "gpu")) {
            ByteArrayOutputStream printed = new ByteArrayOutputStream();
            PrintStream stdout = System.out;
            System.setOut(new PrintStream(printed, true, StandardCharsets.UTF_8));
            try (TornadoEngine engine = TornadoEngine.open(tinyModel(), EngineOptions.defaults()
                    .with("kernels", form).with("print-kernels", "true"))) {
                engine.forward(pixels, false);
            } finally {
                System.setOut(stdout);
            }
            String text = printed.toString(StandardCharsets.UTF_8);
            Assumptions.assumeTrue(text.contains("__kernel void"), "OpenCL C printed (PTX is not parsed here)");
            String linear = form.equals("cpu") ? "linearCpu" : "linear";
            assertThat(kernels(text, linear)).as(form).hasSize(6).containsOnly(kernels(text, linear).get(0));
            assertThat(kernels(text, "layerNorm")).as(form).hasSize(3)
                    .containsOnly(kernels(text, "layerNorm").get(0));
        }
    }

    /** The printed OpenCL kernels of that name, in print order. */
    private static List<String> kernels(String printed, String name) {
        Matcher m = Pattern.compile("__kernel void " + name + "\\(.*?\\}  //  kernel", Pattern.DOTALL)
                .matcher(printed);
        List<String> found = new ArrayList<>();
        while (m.find()) {
            found.add(m.group());
        }
        return found;
    }

    @Test
    void fp16IsRefusedWithAMessageWhereTheDeviceHasNoHalfPrecision() {
        EngineOptions fp16 = EngineOptions.defaults().with("precision", "fp16");
        org.junit.jupiter.api.Assumptions.assumeTrue(new TornadoEngineProvider().devices().get(0).get("name")
                .startsWith("pthread"), "a PoCL CPU device (no cl_khr_fp16)");
        assertThatThrownBy(() -> TornadoEngine.create(tinyModel(), fp16)).isInstanceOf(VitException.class)
                .hasMessageContaining("no half-precision support");
        assertThatThrownBy(() -> TornadoEngine.create(tinyModel(), EngineOptions.defaults().with("precision", "fp8")))
                .isInstanceOf(VitException.class).hasMessageContaining("unknown precision 'fp8'");
    }

    @Test
    void aDeviceIsSelectedByBackendAndIndex() {
        ViTModel model = tinyModel();
        Tensor pixels = RandomWeights.pixels(1, 1, 3, 8, 8);
        try (InferenceEngine engine = new TornadoEngineProvider().create(model, device("0:0"))) {
            assertThat(engine.name()).isEqualTo("tornado");
            assertThat(engine.forward(pixels, false).logits().shape()).containsExactly(1, 3);
        }
        assertThatThrownBy(() -> TornadoEngine.create(model, device("7:0")))
                .isInstanceOf(VitException.class).hasMessageContaining("no backend 7");
        assertThatThrownBy(() -> TornadoEngine.create(model, device("0:99")))
                .isInstanceOf(VitException.class).hasMessageContaining("has 1 devices");
        assertThatThrownBy(() -> TornadoEngine.create(model, device("gpu")))
                .isInstanceOf(VitException.class).hasMessageContaining("backend:device");
    }

    @Test
    void theProfilerReportsEveryKernelAndKeepsCompilationApart() {
        ViTModel model = tinyModel();
        Tensor pixels = RandomWeights.pixels(2, 2, 3, 8, 8);
        try (TornadoEngine engine = TornadoEngine.open(model, EngineOptions.defaults())) {
            DeviceProfile p = engine.profileDevice(pixels, 1, 3);
            System.out.println(p);
            assertThat(p.runs()).isEqualTo(3);
            assertThat(p.jitCompileNanos()).isPositive();
            assertThat(p.kernelNanos()).isPositive();
            assertThat(p.copyInNanos()).isPositive();
            assertThat(p.copyOutNanos()).isPositive();
            // steady state: only the pixels (2·3·8·8 floats), the position table (5 tokens of 16) and the call's
            // sizes go in, only logits and pre-logits come out; TornadoVM counts each array's 16-byte header and each
            // kernel's argument block (24 bytes) as copied too
            long inputBytes = (2L * 3 * 8 * 8 + 5 * 16) * Float.BYTES;
            assertThat(p.bytesIn()).isBetween(inputBytes, inputBytes + 64L * (p.kernels().size() + 1));
            long outBytes = (2L * 3 + 2L * 16) * Float.BYTES;
            assertThat(p.bytesOut()).isBetween(outBytes, outBytes + 64L);
            assertThat(p.kernels()).extracting(DeviceProfile.Kernel::name).containsExactly("embed.im2col",
                    "embed.patch_proj", "block.norm1", "block.qkv", "block.attention", "block.proj", "block.norm2",
                    "block.fc1", "block.fc2", "head.norm", "head.head");
            assertThat(p.kernels()).allSatisfy(k -> assertThat(k.nanos()).as(k.name()).isPositive());
            assertThat(p.nanosByMethod()).containsKey("Norms.layerNorm");
            // the GEMM's and attention's local-memory forms on GPUs, their CPU forms (linearCpu, flashCpu) on CPUs
            assertThat(p.nanosByMethod().keySet()).anyMatch(m -> m.startsWith("MatMul.linear"))
                    .anyMatch(m -> m.startsWith("Attention.flash"));
            long sum = p.kernels().stream().mapToLong(DeviceProfile.Kernel::nanos).sum();
            assertThat(Math.abs(sum - p.kernelNanos())).isLessThanOrEqualTo(p.kernels().size());

            assertThat(engine.lastProfile()).isPresent();
            engine.setProfiling(false);
            engine.forward(pixels, false);
            engine.setProfiling(true);
            engine.forward(pixels, false);
            assertThat(engine.lastProfile().orElseThrow().runs()).isEqualTo(1);
        }
    }

    @Test
    void withoutTheTornadoRuntimeTheReasonSaysHowToGetIt() {
        assertThat(TornadoEngineProvider.check(null)).get().asString().contains("tornado-argfile");
    }
}
