package dev.vitjava.hub;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vitjava.VitException;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class ModelIdTest {

    private static final String HUB = "https://huggingface.co";

    private static Optional<ModelId> parse(String text) {
        return ModelId.parse(text, HUB);
    }

    @Test
    void hubIdsInEverySpelling() {
        ModelId google = new ModelId("google/vit-base-patch16-224", null);
        assertThat(parse("google/vit-base-patch16-224")).contains(google);
        assertThat(parse("hf-hub:google/vit-base-patch16-224")).contains(google);
        assertThat(parse("hf-hub:google/vit-base-patch16-224@v1.0")).contains(
                new ModelId("google/vit-base-patch16-224", "v1.0"));
        assertThat(parse("https://huggingface.co/google/vit-base-patch16-224")).contains(google);
        assertThat(parse("https://huggingface.co/google/vit-base-patch16-224/")).contains(google);
        assertThat(parse("https://hf.co/google/vit-base-patch16-224")).contains(google);
        assertThat(parse("https://huggingface.co/google/vit-base-patch16-224/tree/refs%2Fpr%2F3")).contains(
                new ModelId("google/vit-base-patch16-224", "refs/pr/3"));
        assertThat(parse("https://huggingface.co/google/vit-base-patch16-224/blob/abc123/config.json")).contains(
                new ModelId("google/vit-base-patch16-224", "abc123"));
        assertThat(ModelId.parse("http://localhost:8080/google/vit-base-patch16-224", "http://localhost:8080"))
                .contains(google);
    }

    @Test
    void timmNamesMapToTheirHubRepositories() {
        assertThat(parse("vit_base_patch16_224")).as("timm's default tag").contains(
                new ModelId("timm/vit_base_patch16_224.augreg2_in21k_ft_in1k", null));
        assertThat(parse("timm/vit_base_patch16_224")).contains(
                new ModelId("timm/vit_base_patch16_224.augreg2_in21k_ft_in1k", null));
        assertThat(parse("hf-hub:timm/vit_small_patch16_224@main")).contains(
                new ModelId("timm/vit_small_patch16_224.augreg_in21k_ft_in1k", "main"));
        assertThat(parse("vit_base_patch32_384.augreg_in1k")).contains(
                new ModelId("timm/vit_base_patch32_384.augreg_in1k", null));
        assertThat(parse("vit_huge_patch14_224")).as("head-less weights only").isEmpty();
        assertThat(ModelId.looksLikeTimmName("vit_huge_patch14_224")).isTrue();
        assertThat(ModelId.looksLikeTimmName("photos/model.safetensors")).isFalse();
    }

    @Test
    void pathsAndOtherUrlsAreNotHubModels() {
        assertThat(parse("model.safetensors")).isEmpty();
        assertThat(parse("checkpoints/model.safetensors")).isEmpty();
        assertThat(parse("demo")).isEmpty();
        assertThatThrownBy(() -> parse("https://example.com/google/vit")).isInstanceOf(VitException.class)
                .hasMessageContaining("not a Hugging Face model URL");
        assertThatThrownBy(() -> parse("https://huggingface.co/datasets/org/name")).isInstanceOf(VitException.class);
        assertThatThrownBy(() -> parse("hf-hub:justaname")).isInstanceOf(VitException.class)
                .hasMessageContaining("hf-hub:org/name");
    }
}
