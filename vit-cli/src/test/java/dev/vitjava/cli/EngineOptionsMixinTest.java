package dev.vitjava.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class EngineOptionsMixinTest {

    private static boolean cpu(String... args) {
        return EngineOptionsMixin.runsCpuBackend(args);
    }

    @Test
    void modelCommandsWithoutABackendRunTheDefaultCpuBackend() {
        assertThat(cpu("classify", "samples/")).isTrue();
        assertThat(cpu("bench", "--arch", "vit_base_patch16_224", "--batch", "8")).isTrue();
        assertThat(cpu("run", "--backend", "cpu", "x.png")).isTrue();
        assertThat(cpu("eval", "--backend=cpu", "-b", "8", "data/")).isTrue(); // -b is the batch size
    }

    @Test
    void anotherBackendInAnySpellingIsNotCpu() {
        assertThat(cpu("classify", "--backend", "tornado", "x.png")).isFalse();
        assertThat(cpu("bench", "--backend=reference")).isFalse();
        assertThat(cpu("bench", "--backend")).isFalse();
    }

    @Test
    void theGuessedCommandsAreTheOnesThatTakeABackend() {
        Set<String> withBackend = new CommandLine(new Main()).getSubcommands().values().stream()
                .filter(sub -> sub.getCommandSpec().findOption("--backend") != null)
                .map(CommandLine::getCommandName)
                .collect(Collectors.toSet());
        assertThat(withBackend).isEqualTo(EngineOptionsMixin.MODEL_COMMANDS);
    }

    @Test
    void otherCommandsRunNoModel() {
        assertThat(cpu()).isFalse();
        assertThat(cpu("inspect", "model.safetensors")).isFalse();
        assertThat(cpu("devices")).isFalse();
        assertThat(cpu("--version")).isFalse();
    }
}
