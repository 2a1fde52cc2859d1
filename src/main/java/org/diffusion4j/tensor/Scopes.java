package org.diffusion4j.tensor;

import java.util.function.Supplier;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;

/**
 * Native-memory discipline: every step runs inside a {@link PointerScope}; only what must outlive the step is
 * kept. Without this, RSS grows by gigabytes.
 */
public final class Scopes {
    private Scopes() {}

    /**
     * Runs {@code body} in a fresh scope and returns its tensor, detached from that scope so it survives.
     * The caller owns the result: it belongs to the caller's enclosing scope if there is one, else to the GC,
     * and can be freed early with {@link #release}.
     */
    public static Tensor keep(Supplier<Tensor> body) {
        Tensor result;
        try (PointerScope scope = new PointerScope()) {
            result = body.get();
            result.retainReference();
        }
        PointerScope outer = PointerScope.getInnerScope();
        if (outer != null) {
            outer.attach(result);
            result.releaseReference();
        }
        return result;
    }

    /** Runs {@code body} in a fresh scope; every native object it creates is freed on return. */
    public static void run(Runnable body) {
        try (PointerScope scope = new PointerScope()) {
            body.run();
        }
    }

    /** Runs {@code body} in a fresh scope and returns a plain Java value computed inside it. */
    public static <T> T compute(Supplier<T> body) {
        try (PointerScope scope = new PointerScope()) {
            return body.get();
        }
    }

    /**
     * Takes {@code p} out of scope-based freeing: enclosing scopes no longer free it, the GC does. For handles that
     * live as long as their Java owner, e.g. a model's parameters and submodules, which may be built inside a scope.
     */
    public static <P extends Pointer> P detach(P p) {
        p.retainReference();
        return p;
    }
}
