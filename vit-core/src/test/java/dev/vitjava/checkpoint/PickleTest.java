package dev.vitjava.checkpoint;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The restricted unpickler: plain data comes out as Python has it; calls are recorded, never made. */
class PickleTest {

    /** Records what it is asked to build and builds nothing. */
    private static final class Recorder implements Pickle.Calls {
        final List<String> calls = new ArrayList<>();

        @Override
        public Object call(Pickle.Global callable, List<Object> args) {
            calls.add(callable.toString());
            return null;
        }

        @Override
        public Object persistentLoad(Object pid) {
            return "storage:" + pid;
        }
    }

    private static Object load(String hex) {
        return Pickle.load(ByteBuffer.wrap(HexFormat.of().parseHex(hex.replace(" ", ""))), new Recorder()).value();
    }

    @Test
    void plainDataOfProtocol2() {
        // pickle.dumps({"a": [1, 2.5, "x", None, True], "b": (1, 2)}, protocol=2)
        Object v = load("80027d71002858010000006171015d7102284b0147400400000000000058010000007871034e8865580100000062"
                + "71044b014b02867105752e");
        assertThat(v).isInstanceOf(Map.class);
        Map<?, ?> m = (Map<?, ?>) v;
        assertThat(m.get("a")).isEqualTo(java.util.Arrays.asList(1L, 2.5, "x", null, true));
        assertThat(m.get("b")).isEqualTo(List.of(1L, 2L));
    }

    @Test
    void protocol0TextOpcodes() {
        // pickle.dumps({"k": [7, -3]}, protocol=0)
        String p0 = "(dp0\nVk\np1\n(lp2\nI7\naI-3\nas.";
        Object v = Pickle.load(ByteBuffer.wrap(p0.getBytes(StandardCharsets.US_ASCII)), new Recorder()).value();
        assertThat(v).isEqualTo(Map.of("k", List.of(7L, -3L)));
    }

    @Test
    void aCallToOsSystemIsRecordedAndNeverMade() {
        // the golden malicious pickle: GLOBAL posix.system, REDUCE("touch ...")
        Recorder calls = new Recorder();
        Pickle.Result r = Pickle.load(ByteBuffer.wrap(systemCall()), calls);
        assertThat(r.value()).isInstanceOf(Pickle.Opaque.class);
        assertThat(r.value()).hasToString("a call to posix.system, never made");
        assertThat(r.globals()).containsExactly(new Pickle.Global("posix", "system"));
        assertThat(calls.calls).containsExactly("posix.system");
    }

    private static byte[] systemCall() {
        return ("\u0080\u0002cposix\nsystem\nq\u0000X\u0004\u0000\u0000\u0000trueq\u0001\u0085q\u0002Rq\u0003.")
                .getBytes(StandardCharsets.ISO_8859_1);
    }

    @Test
    void persistentIdsGoToTheCaller() {
        // ('storage', 'k') BINPERSID STOP
        // pickle.dumps(('storage', 'k'), protocol=2) with BINPERSID before STOP
        Object v = load("8002580700000073746f72616765710058010000006b710186710251 2e");
        assertThat(v).isEqualTo("storage:[storage, k]");
    }

    @Test
    void aListThatContainsItselfIsFine() {
        // EMPTY_LIST, BINPUT 0, BINGET 0, APPEND, STOP: l = []; l.append(l)
        Object v = load("80025d71006800612e");
        assertThat(v).isInstanceOf(List.class);
        assertThat(((List<?>) v).get(0)).isSameAs(v);
    }

    @Test
    void malformedPicklesEndInOneError() {
        for (String hex : new String[] {"", "8002", "80024b", "80025800ffffff", "800268052e", "8002302e", "80022e",
            "8002 4b01 4b02 73 2e", "80028200", "8002 28 4b01 75 2e", "8002 8b ffffffff 2e"}) {
            assertThatThrownBy(() -> load(hex)).as(hex).isInstanceOf(Pickle.PickleException.class);
        }
    }
}
