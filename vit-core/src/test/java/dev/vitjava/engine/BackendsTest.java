package dev.vitjava.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vitjava.VitException;
import org.junit.jupiter.api.Test;

class BackendsTest {

    @Test
    void vitCoreRegistersItsBackendsThroughTheServiceLoader() {
        assertThat(Backends.all()).extracting(EngineProvider::name).startsWith("reference", "cpu");
        assertThat(Backends.find("cpu").unavailableReason()).isEmpty();
        assertThat(Backends.named("no-such")).isEmpty();
        assertThatThrownBy(() -> Backends.find("no-such")).isInstanceOf(VitException.class)
                .hasMessage("unknown backend 'no-such' (available: "
                        + String.join(", ", Backends.all().stream().map(EngineProvider::name).toList()) + ")");
    }

    @Test
    void backendSettingsAreAnOpenMap() {
        EngineOptions o = EngineOptions.defaults().withThreads(3).with("device", "0:1").with("precision", "fp16");
        assertThat(o.threads()).isEqualTo(3);
        assertThat(o.setting("device")).contains("0:1");
        assertThat(o.with("device", null).setting("device")).isEmpty();
        assertThat(o.settings()).containsOnlyKeys("device", "precision");
        assertThat(EngineOptions.defaults().setting("device")).isEmpty();
    }
}
