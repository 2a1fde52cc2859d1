package org.diffusion4j.run;

import java.util.ArrayList;
import java.util.List;
import org.bytedeco.pytorch.Tensor;
import org.diffusion4j.data.DataSource;
import org.diffusion4j.model.text.TextUNet;
import org.diffusion4j.tensor.Rng;
import org.diffusion4j.tensor.Tensors;

/**
 * A labelled source whose labels become captions: row i of class k gets one of class k's captions, drawn uniformly,
 * or the empty caption with probability {@code dropout} (the unconditional half of classifier-free guidance, as
 * Stable Diffusion's training drops 10% of captions), as token ids [B, 77]. Draws after the inner source's draws,
 * from the same step generator, so a batch stays a function of (step, rng).
 */
public final class CaptionedData implements DataSource {
    private final DataSource inner;
    private final List<List<String>> captions;
    private final double dropout;
    private final TextUNet network;

    /**
     * @param captions per class; as many classes as {@code inner} has
     * @param network  tokenizes the captions
     */
    public CaptionedData(DataSource inner, List<List<String>> captions, double dropout, TextUNet network) {
        if (inner.numClasses() != captions.size()) {
            throw new IllegalArgumentException("the captions cover " + captions.size() + " classes; data '"
                    + inner.id() + "' has " + inner.numClasses());
        }
        if (!(dropout >= 0 && dropout < 1)) {
            throw new IllegalArgumentException("caption dropout must be in [0, 1), got " + dropout);
        }
        this.inner = inner;
        this.captions = captions;
        this.dropout = dropout;
        this.network = network;
    }

    @Override
    public Tensor batch(long step, int batchSize, Rng rng) {
        return labeledBatch(step, batchSize, rng).x();
    }

    @Override
    public Batch labeledBatch(long step, int batchSize, Rng rng) {
        Batch b = inner.labeledBatch(step, batchSize, rng);
        long[] labels = new long[batchSize];
        b.labels().contiguous().data_ptr_long().get(labels);
        float[] pick = Tensors.toFloats(rng.rand(batchSize));
        float[] drop = Tensors.toFloats(rng.rand(batchSize));
        List<String> prompts = new ArrayList<>(batchSize);
        for (int i = 0; i < batchSize; i++) {
            List<String> c = captions.get((int) labels[i]);
            prompts.add(drop[i] < dropout ? "" : c.get(Math.min(c.size() - 1, (int) (pick[i] * c.size()))));
        }
        return new Batch(b.x(), network.ids(prompts), b.noise());
    }

    @Override
    public int numClasses() {
        return inner.numClasses();
    }

    @Override
    public long[] sampleShape() {
        return inner.sampleShape();
    }

    @Override
    public String id() {
        return inner.id();
    }
}
