package dev.vitjava.checkpoint;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vitjava.VitException;
import dev.vitjava.engine.ReferenceEngine;
import dev.vitjava.model.RandomWeights;
import dev.vitjava.model.ViTConfig;
import dev.vitjava.model.ViTWeights;
import dev.vitjava.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class ModelLoaderTest {

    @TempDir
    Path dir;

    /** A standard-width (192 → 3 heads) but shallow model, so the loader can infer everything from shapes. */
    static final ViTConfig SMALL = new ViTConfig(48, 48, 16, 3, 7, 192, 2, 3, 384, true, 1e-6, true,
            ViTConfig.GlobalPool.TOKEN);

    /** timm-canonical weights under another naming, HF's fused qkv split into query/key/value. */
    static Map<String, Tensor> rename(ViTWeights w, Naming naming) {
        return new Naming.Detected(naming, naming == Naming.HUGGING_FACE ? "vit." : "").fromCanonical(
                w.toTimmStateDict());
    }

    private Path write(String name, Map<String, Tensor> tensors) {
        Path p = dir.resolve(name);
        SafetensorsWriter.write(p, tensors, Map.of());
        return p;
    }

    private static Tensor pixels(ViTConfig c, int batch) {
        float[] v = new float[batch * c.inChans() * c.imgHeight() * c.imgWidth()];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) Math.sin(i * 0.37) * 1.5f;
        }
        return Tensor.of(v, batch, c.inChans(), c.imgHeight(), c.imgWidth());
    }

    @ParameterizedTest
    @EnumSource(Naming.class)
    void everyNamingLoadsTheSameModel(Naming naming) {
        ViTWeights weights = RandomWeights.create(SMALL, 7);
        Path file = write(naming.id() + ".safetensors", rename(weights, naming));

        LoadedModel loaded = ModelLoader.load(file);

        assertThat(loaded.naming()).isEqualTo(naming);
        ViTConfig c = loaded.model().config();
        assertThat(c.embedDim()).isEqualTo(192);
        assertThat(c.numHeads()).as("from the table of standard widths").isEqualTo(3);
        assertThat(c.depth()).isEqualTo(2);
        assertThat(c.numClasses()).isEqualTo(7);
        assertThat(loaded.model().weights().parameterCount()).isEqualTo(weights.parameterCount());
        float[] expected = new ReferenceEngine(new dev.vitjava.model.ViTModel(c, weights))
                .forward(pixels(c, 1), false).logits().toArray();
        assertThat(new ReferenceEngine(loaded.model()).forward(pixels(c, 1), false).logits().toArray())
                .containsExactly(expected);
    }

    @Test
    void readsHuggingFaceAndTimmConfigs() throws IOException {
        ViTWeights weights = RandomWeights.create(SMALL, 3);
        Path hf = Files.createDirectories(dir.resolve("hf"));
        SafetensorsWriter.write(hf.resolve("model.safetensors"), rename(weights, Naming.HUGGING_FACE), Map.of());
        Files.writeString(hf.resolve("config.json"), """
                {"model_type": "vit", "hidden_size": 192, "num_hidden_layers": 2, "num_attention_heads": 6,
                 "intermediate_size": 384, "image_size": 48, "patch_size": 16, "layer_norm_eps": 1e-12,
                 "id2label": {"0": "a", "1": "b", "2": "c", "3": "d", "4": "e", "5": "f", "6": "g"}}""");
        LoadedModel m = ModelLoader.load(hf);
        assertThat(m.model().config().numHeads()).as("the config wins over the table").isEqualTo(6);
        assertThat(m.model().config().layerNormEps()).isEqualTo(1e-12);
        assertThat(m.labels()).containsExactly("a", "b", "c", "d", "e", "f", "g");

        Path timm = Files.createDirectories(dir.resolve("timm"));
        SafetensorsWriter.write(timm.resolve("model.safetensors"), weights.toTimmStateDict(), Map.of());
        Files.writeString(timm.resolve("config.json"), """
                {"architecture": "my_vit", "num_classes": 7, "label_names": ["0","1","2","3","4","5","x"],
                 "model_args": {"img_size": 48, "patch_size": 16, "embed_dim": 192, "depth": 2,
                                "num_heads": 2, "mlp_ratio": 2.0}}""");
        m = ModelLoader.load(timm);
        assertThat(m.model().config().numHeads()).isEqualTo(2);
        assertThat(m.model().config().mlpHidden()).isEqualTo(384);
        assertThat(m.labels().get(6)).isEqualTo("x");
    }

    @Test
    void standardArchitectureNameWithoutModelArgs() throws IOException {
        ViTConfig tiny = new ViTConfig(224, 224, 16, 3, 1000, 192, 12, 3, 768, true, 1e-6, true,
                ViTConfig.GlobalPool.TOKEN);
        Path d = Files.createDirectories(dir.resolve("hub"));
        SafetensorsWriter.write(d.resolve("model.safetensors"), RandomWeights.create(tiny, 1).toTimmStateDict(),
                Map.of());
        Files.writeString(d.resolve("config.json"),
                "{\"architecture\": \"vit_tiny_patch16_224.augreg_in21k_ft_in1k\", \"num_classes\": 1000}");
        LoadedModel m = ModelLoader.load(d);
        assertThat(m.model().config()).isEqualTo(tiny);
        assertThat(m.labels()).hasSize(1000);
    }

    @Test
    void missingKey() {
        Map<String, Tensor> t = RandomWeights.create(SMALL, 1).toTimmStateDict();
        t.remove("blocks.1.mlp.fc2.bias");
        Path p = write("missing.safetensors", t);
        assertThatThrownBy(() -> ModelLoader.load(p)).isInstanceOf(VitException.class)
                .hasMessageStartingWith(p.toString()).hasMessageContaining("missing tensor 'blocks.1.mlp.fc2.bias'");
    }

    @Test
    void unexpectedKey() {
        Map<String, Tensor> t = new LinkedHashMap<>(RandomWeights.create(SMALL, 1).toTimmStateDict());
        t.put("blocks.0.ls1.gamma", Tensor.of(new float[192], 192));
        Path p = write("extra.safetensors", t);
        assertThatThrownBy(() -> ModelLoader.load(p)).isInstanceOf(VitException.class)
                .hasMessageContaining("unexpected").hasMessageContaining("blocks.0.ls1.gamma");
    }

    @Test
    void wrongShapeForTheConfig() {
        Map<String, Tensor> t = new LinkedHashMap<>(RandomWeights.create(SMALL, 1).toTimmStateDict());
        t.put("blocks.1.attn.proj.weight", Tensor.of(new float[192 * 191], 192, 191));
        Path p = write("shape.safetensors", t);
        assertThatThrownBy(() -> ModelLoader.load(p)).isInstanceOf(VitException.class)
                .hasMessageContaining("blocks.1.attn.proj.weight").hasMessageContaining("[192, 191]");
    }

    @Test
    void unknownWidthNeedsHeads() {
        ViTConfig odd = new ViTConfig(16, 16, 8, 3, 4, 40, 1, 5, 80, true, 1e-6, true, ViTConfig.GlobalPool.TOKEN);
        Path p = write("odd.safetensors", RandomWeights.create(odd, 1).toTimmStateDict());
        assertThatThrownBy(() -> ModelLoader.load(p)).isInstanceOf(VitException.class)
                .hasMessageContaining("--num-heads");
        assertThat(ModelLoader.load(p, new ModelLoader.Options(null, 5)).model().config()).isEqualTo(odd);
    }

    @Test
    void notAViTAndBarePickles() throws IOException {
        Path p = write("other.safetensors", Map.of("w", Tensor.of(new float[] {1}, 1)));
        assertThatThrownBy(() -> ModelLoader.load(p)).isInstanceOf(VitException.class)
                .hasMessageContaining("not a ViT checkpoint");
        Path pickled = Files.createDirectories(dir.resolve("pickled"));
        Files.write(pickled.resolve("pytorch_model.bin"), new byte[] {(byte) 0x80, 2});
        assertThatThrownBy(() -> ModelLoader.load(pickled)).isInstanceOf(VitException.class)
                .hasMessageContaining("a bare pickle, not a torch.save zip archive, which is not read");
        assertThatThrownBy(() -> ModelLoader.load(dir.resolve("nope"))).isInstanceOf(VitException.class)
                .hasMessageContaining("no such model");
    }

    @Test
    void badConfigJson() throws IOException {
        Path d = Files.createDirectories(dir.resolve("badcfg"));
        SafetensorsWriter.write(d.resolve("model.safetensors"), RandomWeights.create(SMALL, 1).toTimmStateDict(),
                Map.of());
        Files.writeString(d.resolve("config.json"), "{\"model_type\": \"vit\", \"hidden_size\": ");
        assertThatThrownBy(() -> ModelLoader.load(d)).isInstanceOf(VitException.class)
                .hasMessageContaining("config.json").hasMessageContaining("not valid JSON");
        Files.writeString(d.resolve("config.json"), "[1]");
        assertThatThrownBy(() -> ModelLoader.load(d)).isInstanceOf(VitException.class)
                .hasMessageContaining("not a JSON object");
    }
}
