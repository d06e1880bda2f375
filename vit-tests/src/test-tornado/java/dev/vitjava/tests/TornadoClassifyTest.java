package dev.vitjava.tests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.List;
import org.junit.jupiter.api.Test;

/** `vit classify --backend tornado` gives the CPU engine's top-k on the shipped samples. */
class TornadoClassifyTest {

    private static List<JsonNode> classify(String backend) throws IOException {
        Cli r = Cli.run("classify", "--backend", backend, "--format", "json", "-k", "3", "--batch", "30",
                ClassifyTest.SAMPLES.toString());
        assertThat(r.exitCode()).as(r.err()).isZero();
        ObjectMapper json = new ObjectMapper();
        List<JsonNode> out = new java.util.ArrayList<>();
        for (String line : r.out().lines().toList()) {
            out.add(json.readTree(line));
        }
        return out;
    }

    @Test
    void sameTopKAsTheCpuEngine() throws IOException {
        List<JsonNode> cpu = classify("cpu");
        List<JsonNode> tornado = classify("tornado");
        assertThat(tornado).hasSize(30);
        for (int i = 0; i < cpu.size(); i++) {
            assertThat(tornado.get(i).get("file")).isEqualTo(cpu.get(i).get("file"));
            for (int k = 0; k < 3; k++) {
                JsonNode a = tornado.get(i).get("top").get(k);
                JsonNode b = cpu.get(i).get("top").get(k);
                assertThat(a.get("index")).as("%s rank %d", cpu.get(i).get("file"), k).isEqualTo(b.get("index"));
                assertThat(a.get("prob").asDouble()).isCloseTo(b.get("prob").asDouble(), within(1e-5));
            }
        }
    }
}
