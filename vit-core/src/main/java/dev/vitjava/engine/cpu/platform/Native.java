package dev.vitjava.engine.cpu.platform;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.reflect.Array;
import java.nio.Buffer;
import java.util.Optional;

/**
 * The few C library calls the engine makes, through the foreign-function API, reached by reflection: the project
 * compiles for Java 21, where that API is a preview, and it is final from Java 22 on. Everything here is optional: on
 * Java 21, off Linux, or without native access ({@code --enable-native-access=ALL-UNNAMED}, which the {@code vit}
 * launcher sets) every handle is null and callers skip what they would have done, silently.
 *
 * <p>Arguments are {@code long} (a pointer or a size), {@code int}, or {@code float[]}: an array is passed as a
 * pointer to its first element, which needs a critical call (the GC holds still during it; the function must be
 * short and must not call back into Java).
 */
final class Native {

    private static final boolean ENABLED = enabled();

    private Native() {
    }

    private static boolean enabled() {
        try {
            return System.getProperty("os.name", "").startsWith("Linux")
                    && "64".equals(System.getProperty("sun.arch.data.model"))
                    && (boolean) Module.class.getMethod("isNativeAccessEnabled").invoke(Native.class.getModule());
        } catch (ReflectiveOperationException | RuntimeException e) {
            return false;
        }
    }

    /**
     * A handle of type {@code (params) -> result} calling the C function {@code name}, or null where unavailable.
     * Types are {@code long}, {@code int} and (parameters only) {@code float[]}.
     */
    static MethodHandle function(String name, Class<?> result, Class<?>... params) {
        if (!ENABLED) {
            return null;
        }
        try {
            Class<?> linkerC = ffm("Linker");
            Class<?> segC = ffm("MemorySegment");
            Class<?> layoutC = ffm("MemoryLayout");
            Class<?> optionC = ffm("Linker$Option");
            Object linker = linkerC.getMethod("nativeLinker").invoke(null);
            Object lookup = linkerC.getMethod("defaultLookup").invoke(linker);
            Optional<?> symbol = (Optional<?>) ffm("SymbolLookup").getMethod("find", String.class).invoke(lookup, name);
            if (symbol.isEmpty()) {
                return null;
            }
            Object layouts = Array.newInstance(layoutC, params.length);
            boolean arrays = false;
            for (int i = 0; i < params.length; i++) {
                Array.set(layouts, i, layout(params[i]));
                arrays |= params[i] == float[].class;
            }
            Object descriptor = ffm("FunctionDescriptor").getMethod("of", layoutC, layouts.getClass())
                    .invoke(null, layout(result), layouts);
            Object options = Array.newInstance(optionC, arrays ? 1 : 0);
            if (arrays) {
                Array.set(options, 0, optionC.getMethod("critical", boolean.class).invoke(null, true));
            }
            MethodHandle h = (MethodHandle) linkerC.getMethod("downcallHandle", segC, ffm("FunctionDescriptor"),
                    options.getClass()).invoke(linker, symbol.get(), descriptor, options);
            MethodHandle ofArray = MethodHandles.publicLookup().findStatic(segC, "ofArray",
                    MethodType.methodType(segC, float[].class));
            for (int i = 0; i < params.length; i++) {
                if (params[i] == float[].class) {
                    h = MethodHandles.filterArguments(h, i, ofArray);
                }
            }
            return h.asType(MethodType.methodType(result, params));
        } catch (Throwable e) {
            return null;
        }
    }

    /** A handle of type {@code (Buffer) -> long}: a direct buffer's address at its position; or null. */
    static MethodHandle bufferAddress() {
        if (!ENABLED) {
            return null;
        }
        try {
            Class<?> segC = ffm("MemorySegment");
            MethodHandles.Lookup lookup = MethodHandles.publicLookup();
            MethodHandle ofBuffer = lookup.findStatic(segC, "ofBuffer", MethodType.methodType(segC, Buffer.class));
            MethodHandle address = lookup.findVirtual(segC, "address", MethodType.methodType(long.class));
            return MethodHandles.filterReturnValue(ofBuffer, address);
        } catch (ReflectiveOperationException | RuntimeException e) {
            return null;
        }
    }

    private static Object layout(Class<?> type) throws ReflectiveOperationException {
        String field = type == long.class ? "JAVA_LONG" : type == int.class ? "JAVA_INT"
                : type == float[].class ? "ADDRESS" : null;
        if (field == null) {
            throw new IllegalArgumentException("unsupported native type " + type);
        }
        return ffm("ValueLayout").getField(field).get(null);
    }

    private static Class<?> ffm(String name) throws ClassNotFoundException {
        return Class.forName("java.lang.foreign." + name);
    }
}
