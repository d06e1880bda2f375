package dev.vitjava.checkpoint;

import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * A restricted unpickler, written for checkpoints: it runs Python's pickle opcodes (protocols 0 to 5) on plain
 * data only and never imports, looks up or calls anything. A {@code GLOBAL} becomes a {@link Global} name; calling
 * it ({@code REDUCE}, {@code NEWOBJ}, {@code INST}, {@code OBJ}) asks the {@link Calls} given by the caller, which
 * builds the few things it knows (tensors, storages) from the arguments, and otherwise yields an inert
 * {@link Opaque} that records what would have been called and is never called. {@code OrderedDict} becomes a
 * plain dict. So a pickle that would run {@code os.system} under Python's unpickler here produces an
 * {@code Opaque(posix.system)} and nothing else.
 *
 * <p>Values: {@code null} (None), Boolean, Long (or BigInteger beyond 64 bits), Double, String, byte[], lists
 * ({@link ArrayList}), tuples (unmodifiable lists), dicts ({@link LinkedHashMap}; keys that Python would hash by
 * value are kept as such, any other key by identity), sets (lists), and whatever {@link Calls} returns.
 * Every length is checked against the bytes left, so crafted input ends in a {@link PickleException}.
 */
final class Pickle {

    /** A global name as a pickle refers to it: {@code module.name}. */
    record Global(String module, String name) {
        @Override
        public String toString() {
            return module + "." + name;
        }
    }

    /** An object the pickle would have built by calling {@code callable}: recorded, never built. */
    static final class Opaque {
        final Global callable;

        Opaque(Global callable) {
            this.callable = callable;
        }

        @Override
        public String toString() {
            return "a call to " + callable + ", never made";
        }
    }

    /** What the caller knows how to build; everything else becomes an {@link Opaque}. */
    interface Calls {
        /** The result of {@code callable(*args)}, or null if the callable is not known. */
        Object call(Global callable, List<Object> args);

        /** A persistent id's object ({@code torch.save} storages); never null. */
        Object persistentLoad(Object pid);
    }

    /** Malformed or unsupported pickle data. */
    static final class PickleException extends RuntimeException {
        PickleException(String message) {
            super(message);
        }
    }

    private static final Object MARK = new Object();
    private static final Global ORDERED_DICT = new Global("collections", "OrderedDict");

    private final ByteBuffer in;
    private final Calls calls;
    private final List<Object> stack = new ArrayList<>();
    private final Deque<Integer> marks = new ArrayDeque<>();
    private final Map<Long, Object> memo = new HashMap<>();
    private final Set<Global> globals = new LinkedHashSet<>();

    private Pickle(ByteBuffer in, Calls calls) {
        this.in = in.slice().order(ByteOrder.LITTLE_ENDIAN);
        this.calls = calls;
    }

    /** The result of a pickle and the global names it mentioned. */
    record Result(Object value, Set<Global> globals) {
    }

    static Result load(ByteBuffer data, Calls calls) {
        Pickle p = new Pickle(data, calls);
        Object value = p.run();
        return new Result(value, Collections.unmodifiableSet(p.globals));
    }

    private Object run() {
        while (true) {
            if (!in.hasRemaining()) {
                throw fail("ends without a STOP opcode");
            }
            int at = in.position();
            int op = in.get() & 0xff;
            switch (op) {
                case 0x80 -> u8(); // PROTO
                case 0x95 -> need(8).getLong(); // FRAME: an 8-byte length, framing only
                case '.' -> {
                    Object v = pop();
                    return v;
                }
                case '(' -> {
                    marks.push(stack.size());
                    stack.add(MARK);
                }
                case '0' -> pop();
                case '1' -> popMark();
                case '2' -> push(peek());
                case 'N' -> push(null);
                case 0x88 -> push(Boolean.TRUE);
                case 0x89 -> push(Boolean.FALSE);
                case 'J' -> push((long) need(4).getInt());
                case 'K' -> push((long) u8());
                case 'M' -> push((long) (need(2).getShort() & 0xffff));
                case 0x8a -> push(littleEndianInteger(u8()));
                case 0x8b -> push(littleEndianInteger(length(need(4).getInt() & 0xffffffffL)));
                case 'I' -> push(textInteger(line(), false));
                case 'L' -> push(textInteger(line(), true));
                case 'G' -> push(bigEndianDouble());
                case 'F' -> push(textFloat(line()));
                case 'X' -> push(utf8(length(need(4).getInt() & 0xffffffffL)));
                case 0x8c -> push(utf8(u8()));
                case 0x8d -> push(utf8(length(need(8).getLong())));
                case 'V' -> push(line());
                case 'T' -> push(latin1(length(need(4).getInt() & 0xffffffffL)));
                case 'U' -> push(latin1(u8()));
                case 'S' -> push(unquote(line()));
                case 'B' -> push(bytes(length(need(4).getInt() & 0xffffffffL)));
                case 'C' -> push(bytes(u8()));
                case 0x8e, 0x96 -> push(bytes(length(need(8).getLong())));
                case ')' -> push(List.of());
                case 0x85 -> push(tuple(pop()));
                case 0x86 -> {
                    Object b = pop();
                    push(tuple(pop(), b));
                }
                case 0x87 -> {
                    Object c = pop();
                    Object b = pop();
                    push(tuple(pop(), b, c));
                }
                case 't' -> push(Collections.unmodifiableList(popMark()));
                case ']' -> push(new ArrayList<>());
                case 'l' -> push(new ArrayList<>(popMark()));
                case '}' -> push(new LinkedHashMap<>());
                case 'd' -> {
                    Map<Object, Object> m = new LinkedHashMap<>();
                    putAll(m, popMark());
                    push(m);
                }
                case 0x8f -> push(new ArrayList<>()); // EMPTY_SET: sets are kept as lists
                case 0x91 -> push(Collections.unmodifiableList(popMark())); // FROZENSET
                case 'a' -> {
                    List<Object> one = new ArrayList<>();
                    one.add(pop());
                    append(peek(), one);
                }
                case 'e', 0x90 -> {
                    List<Object> items = popMark();
                    append(peek(), items);
                }
                case 's' -> {
                    Object v = pop();
                    Object k = pop();
                    setItem(peek(), k, v);
                }
                case 'u' -> {
                    List<Object> items = popMark();
                    Object target = peek();
                    if (target instanceof Map<?, ?>) {
                        @SuppressWarnings("unchecked")
                        Map<Object, Object> m = (Map<Object, Object>) target;
                        putAll(m, items);
                    } else if (items.size() % 2 != 0) {
                        throw fail("SETITEMS with an odd number of items");
                    }
                }
                case 'p' -> memo.put(textLong(line()), peek());
                case 'q' -> memo.put((long) u8(), peek());
                case 'r' -> memo.put(need(4).getInt() & 0xffffffffL, peek());
                case 0x94 -> memo.put((long) memo.size(), peek());
                case 'g' -> push(memoGet(textLong(line())));
                case 'h' -> push(memoGet(u8()));
                case 'j' -> push(memoGet(need(4).getInt() & 0xffffffffL));
                case 'c' -> push(global(line(), line()));
                case 0x93 -> {
                    Object name = pop();
                    Object module = pop();
                    if (!(module instanceof String m) || !(name instanceof String n)) {
                        throw fail("STACK_GLOBAL needs two strings");
                    }
                    push(global(m, n));
                }
                case 'R' -> {
                    Object args = pop();
                    push(call(pop(), args));
                }
                case 0x81 -> { // NEWOBJ: cls.__new__(cls, *args)
                    Object args = pop();
                    push(call(pop(), args));
                }
                case 0x92 -> { // NEWOBJ_EX: cls, args, kwargs
                    pop();
                    Object args = pop();
                    push(call(pop(), args));
                }
                case 'i' -> { // INST module\nname\n with marked arguments
                    Global g = global(line(), line());
                    push(call(g, Collections.unmodifiableList(popMark())));
                }
                case 'o' -> { // OBJ: marked class followed by arguments
                    List<Object> items = popMark();
                    if (items.isEmpty()) {
                        throw fail("OBJ without a class");
                    }
                    push(call(items.get(0), Collections.unmodifiableList(new ArrayList<>(items.subList(1, items.size())))));
                }
                case 'b' -> { // BUILD: the state of an object; nothing is built, so the state is dropped
                    pop();
                    peek();
                }
                case 'Q' -> push(persistent(pop()));
                case 'P' -> push(persistent(line()));
                case 0x82, 0x83, 0x84 -> throw fail("extension registry opcodes (EXT1/2/4) are not supported");
                case 0x97, 0x98 -> throw fail("out-of-band buffers (protocol 5) are not supported");
                default -> throw fail(String.format("unknown opcode 0x%02x at byte %d", op, at));
            }
        }
    }

    private Global global(String module, String name) {
        Global g = new Global(module, name);
        globals.add(g);
        return g;
    }

    private Object call(Object callable, Object args) {
        if (!(callable instanceof Global g)) {
            // calling a non-global (an opaque result, a list, ...): nothing to call, the result is inert
            return new Opaque(callable instanceof Opaque o ? o.callable : new Global("builtins", "object"));
        }
        if (!(args instanceof List<?> list)) {
            throw fail("arguments of " + g + " are not a tuple");
        }
        @SuppressWarnings("unchecked")
        List<Object> a = (List<Object>) list;
        if (g.equals(ORDERED_DICT) && a.isEmpty()) {
            return new LinkedHashMap<>();
        }
        Object built = calls.call(g, a);
        return built != null ? built : new Opaque(g);
    }

    private Object persistent(Object pid) {
        Object v = calls.persistentLoad(pid);
        return Objects.requireNonNull(v);
    }

    private static List<Object> tuple(Object... items) {
        return Collections.unmodifiableList(new ArrayList<>(java.util.Arrays.asList(items)));
    }

    private void append(Object target, List<Object> items) {
        if (target instanceof List<?> l && !isTuple(l)) {
            @SuppressWarnings("unchecked")
            List<Object> list = (List<Object>) l;
            list.addAll(items);
        } else if (!(target instanceof Opaque)) {
            throw fail("APPEND to something that is not a list");
        }
    }

    private static boolean isTuple(List<?> l) {
        return !(l instanceof ArrayList<?>);
    }

    private void setItem(Object target, Object key, Object value) {
        if (target instanceof Map<?, ?> m) {
            @SuppressWarnings("unchecked")
            Map<Object, Object> map = (Map<Object, Object>) m;
            map.put(key(key), value);
        } else if (!(target instanceof Opaque)) {
            throw fail("SETITEM on something that is not a dict");
        }
    }

    private void putAll(Map<Object, Object> m, List<Object> items) {
        if (items.size() % 2 != 0) {
            throw fail("dict items with an odd count");
        }
        for (int i = 0; i < items.size(); i += 2) {
            m.put(key(items.get(i)), items.get(i + 1));
        }
    }

    /** Keys Python hashes by value stay themselves; any other key is kept by identity (never hashed deeply). */
    private static Object key(Object k) {
        if (k == null || k instanceof String || k instanceof Long || k instanceof Boolean || k instanceof Double
                || k instanceof BigInteger || k instanceof Global) {
            return k;
        }
        return new IdentityKey(k);
    }

    /** A dict key compared by identity. */
    static final class IdentityKey {
        final Object key;

        IdentityKey(Object key) {
            this.key = key;
        }
    }

    private Object memoGet(long index) {
        if (!memo.containsKey(index)) {
            throw fail("memo index " + index + " read before it was written");
        }
        return memo.get(index);
    }

    private void push(Object v) {
        stack.add(v);
    }

    private Object pop() {
        if (stack.isEmpty()) {
            throw fail("stack underflow");
        }
        Object v = stack.remove(stack.size() - 1);
        if (v == MARK) {
            throw fail("unexpected MARK on the stack");
        }
        return v;
    }

    private Object peek() {
        if (stack.isEmpty() || stack.get(stack.size() - 1) == MARK) {
            throw fail("empty stack");
        }
        return stack.get(stack.size() - 1);
    }

    private List<Object> popMark() {
        if (marks.isEmpty()) {
            throw fail("no MARK to pop to");
        }
        int m = marks.pop();
        if (m >= stack.size() || stack.get(m) != MARK) {
            throw fail("MARK lost from the stack");
        }
        List<Object> items = new ArrayList<>(stack.subList(m + 1, stack.size()));
        stack.subList(m, stack.size()).clear();
        return items;
    }

    private int u8() {
        return need(1).get() & 0xff;
    }

    /** The buffer itself, after checking {@code n} bytes are left (read them next). */
    private ByteBuffer need(int n) {
        checkRemaining(n);
        return in.order(ByteOrder.LITTLE_ENDIAN);
    }

    private double bigEndianDouble() {
        checkRemaining(8);
        double d = in.order(ByteOrder.BIG_ENDIAN).getDouble();
        in.order(ByteOrder.LITTLE_ENDIAN);
        return d;
    }

    private int checkRemaining(long n) {
        if (n > in.remaining()) {
            throw fail("truncated: needs " + n + " bytes at byte " + in.position() + ", " + in.remaining() + " left");
        }
        return in.position();
    }

    private int length(long n) {
        if (n < 0 || n > in.remaining()) {
            throw fail("length " + n + " at byte " + in.position() + " exceeds the " + in.remaining() + " bytes left");
        }
        return (int) n;
    }

    private byte[] bytes(int n) {
        checkRemaining(n);
        byte[] b = new byte[n];
        in.get(b);
        return b;
    }

    private String utf8(int n) {
        return new String(bytes(n), StandardCharsets.UTF_8);
    }

    private String latin1(int n) {
        return new String(bytes(n), StandardCharsets.ISO_8859_1);
    }

    /** A newline-terminated text argument (protocol 0 opcodes). */
    private String line() {
        int start = in.position();
        for (int i = start; i < in.limit(); i++) {
            if (in.get(i) == '\n') {
                byte[] b = new byte[i - start];
                in.get(b);
                in.get();
                return new String(b, StandardCharsets.UTF_8);
            }
        }
        throw fail("text argument at byte " + start + " has no end of line");
    }

    private Object littleEndianInteger(int n) {
        byte[] le = bytes(n);
        if (n == 0) {
            return 0L;
        }
        byte[] be = new byte[n];
        for (int i = 0; i < n; i++) {
            be[i] = le[n - 1 - i];
        }
        return narrow(new BigInteger(be));
    }

    private Object textInteger(String s, boolean isLong) {
        String t = isLong && s.endsWith("L") ? s.substring(0, s.length() - 1) : s;
        if (!isLong && t.equals("01")) {
            return Boolean.TRUE;
        }
        if (!isLong && t.equals("00")) {
            return Boolean.FALSE;
        }
        if (t.length() > 400) {
            throw fail("integer literal of " + t.length() + " digits");
        }
        try {
            return narrow(new BigInteger(t.strip()));
        } catch (NumberFormatException e) {
            throw fail("bad integer literal '" + t + "'");
        }
    }

    private long textLong(String s) {
        Object v = textInteger(s, false);
        if (!(v instanceof Long l)) {
            throw fail("bad memo index '" + Checkpoints.shown(s) + "'");
        }
        return l;
    }

    private double textFloat(String s) {
        if (s.length() > 400) {
            throw fail("float literal of " + s.length() + " characters");
        }
        try {
            return Double.parseDouble(s.strip());
        } catch (NumberFormatException e) {
            throw fail("bad float literal '" + Checkpoints.shown(s) + "'");
        }
    }

    private static Object narrow(BigInteger v) {
        return v.bitLength() < 64 ? (Object) v.longValue() : v;
    }

    /** Protocol 0 strings are Python reprs; the quotes go, escapes are kept as written. */
    private static String unquote(String s) {
        if (s.length() >= 2 && (s.charAt(0) == '\'' || s.charAt(0) == '"') && s.charAt(s.length() - 1) == s.charAt(0)) {
            return s.substring(1, s.length() - 1);
        }
        return s;
    }

    private PickleException fail(String message) {
        return new PickleException(message);
    }
}
