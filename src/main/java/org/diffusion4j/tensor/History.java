package org.diffusion4j.tensor;

import java.util.ArrayDeque;
import java.util.Iterator;
import org.bytedeco.pytorch.Tensor;

/**
 * The last few tensors of a loop, such as a multistep sampler's earlier predictions, kept across the loop's per-step
 * {@link org.bytedeco.javacpp.PointerScope}s: {@link #push} stores a copy that no scope frees, and the copy that falls
 * off the end is freed at once. Close the history when the loop ends (try-with-resources), which frees the rest.
 * Not thread-safe.
 */
public final class History implements AutoCloseable {
    private final int capacity;
    private final ArrayDeque<Tensor> newestFirst = new ArrayDeque<>();
    private boolean closed;

    /** @param capacity how many tensors to keep, >= 1 */
    public History(int capacity) {
        if (capacity < 1) {
            throw new IllegalArgumentException("history capacity must be >= 1, got " + capacity);
        }
        this.capacity = capacity;
    }

    /** Keeps a copy of {@code t} as the newest entry, freeing the oldest one beyond the capacity. */
    public void push(Tensor t) {
        if (closed) {
            throw new IllegalStateException("history is closed");
        }
        newestFirst.addFirst(Scopes.detach(t.clone()));
        while (newestFirst.size() > capacity) {
            newestFirst.removeLast().close();
        }
    }

    /** The {@code k}-th newest entry (0 = the newest); owned by the history, valid until it drops off or is closed. */
    public Tensor get(int k) {
        if (k < 0 || k >= newestFirst.size()) {
            throw new IndexOutOfBoundsException("history holds " + newestFirst.size() + " tensors, asked for #" + k);
        }
        Iterator<Tensor> it = newestFirst.iterator();
        for (int i = 0; i < k; i++) {
            it.next();
        }
        return it.next();
    }

    public int size() {
        return newestFirst.size();
    }

    public boolean isEmpty() {
        return newestFirst.isEmpty();
    }

    /** Frees every entry; nothing can be pushed afterwards. */
    @Override
    public void close() {
        newestFirst.forEach(Tensor::close);
        newestFirst.clear();
        closed = true;
    }
}
