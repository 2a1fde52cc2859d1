package org.diffusion4j.distributed;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.diffusion4j.tensor.Scopes;
import org.diffusion4j.tensor.Tensors;
import org.diffusion4j.tensor.Torch;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class GradientBucketsTest {
    @BeforeAll
    static void init() {
        Torch.init();
    }

    /** A rank whose single peer always contributes {@code peerValue} to every element. */
    private static final class OnePeer implements Collective {
        final float peerValue;
        final List<Long> sizes = new ArrayList<>();

        OnePeer(float peerValue) {
            this.peerValue = peerValue;
        }

        @Override
        public int rank() {
            return 0;
        }

        @Override
        public int worldSize() {
            return 2;
        }

        @Override
        public Pending allReduceSum(Tensor flat) {
            sizes.add(flat.numel());
            return () -> flat.add_(Tensors.scalar(peerValue));
        }

        @Override
        public void broadcast(Tensor flat, int root) {
            flat.fill_(Tensors.scalar(peerValue));
        }

        @Override
        public List<String> exchange(String key, String value) {
            return List.of(value, value);
        }
    }

    private static Tensor param(float value, long... shape) {
        Tensor p = Scopes.detach(torch.full(shape,
                Tensors.scalar(value)));
        p.requires_grad_(true);
        return p;
    }

    private static void setGrad(Tensor p, float value) {
        p.sum().mul(Tensors.scalar(value)).backward();
    }

    @Test
    void fillsBucketsFromTheLastParameterUpToTheByteBudget() {
        List<Tensor> ps = List.of(param(0, 300), param(0, 100), param(0, 100), param(0, 2000));
        GradientBuckets b = new GradientBuckets(ps, 1200);
        // 2000 floats exceed the budget alone; 100 + 100 fit in 1200 bytes, 300 more would not.
        assertThat(b.buckets()).containsExactly(List.of(3), List.of(2, 1), List.of(0));
        assertThat(new GradientBuckets(ps, 1 << 20).buckets()).containsExactly(List.of(3, 2, 1, 0));
        // Past 1 MiB the first bucket stops early, as DDP's does: its all-reduce can start sooner.
        List<Tensor> big = List.of(param(0, 300_000), param(0, 200_000), param(0, 200_000));
        assertThat(new GradientBuckets(big, 25 << 20).buckets()).containsExactly(List.of(2), List.of(1, 0));
        assertThatThrownBy(() -> new GradientBuckets(List.of(), 1024)).hasMessageContaining("no parameters");
    }

    @Test
    void averagesGradientsAndScalarsAcrossRanksInEveryBucket() {
        Tensor a = param(1, 3);
        Tensor b = param(1, 2, 2);
        Tensor unused = param(1, 5);
        setGrad(a, 4);
        setGrad(b, 2);
        OnePeer peer = new OnePeer(6);
        GradientBuckets buckets = new GradientBuckets(List.of(a, b, unused), 24);
        double[] loss = buckets.averageGradients(peer, 0.5, 3.0);
        assertThat(loss).containsExactly(3.25, 4.5);
        assertThat(Tensors.toFloats(a.grad())).containsOnly(5f);
        assertThat(Tensors.toFloats(b.grad())).containsOnly(4f);
        // No gradient here counts as zero; the peer's 6 averages to 3.
        assertThat(Tensors.toFloats(unused.grad())).containsOnly(3f);
        // Three buckets ([unused], [b], [a]); the two scalars ride in the first one sent.
        assertThat(peer.sizes).containsExactly(7L, 4L, 3L);
    }

    @Test
    void aGroupOfOneLeavesGradientsAsTheyAre() {
        Tensor a = param(1, 3);
        setGrad(a, 2);
        double[] loss = new GradientBuckets(List.of(a), 1 << 20).averageGradients(Collective.single(), 0.25);
        assertThat(loss).containsExactly(0.25);
        assertThat(Tensors.toFloats(a.grad())).containsOnly(2f);
    }

    @Test
    void broadcastCopiesRootValuesIntoEveryParameter() {
        Tensor a = param(1, 3);
        Tensor b = param(2, 2);
        GradientBuckets.broadcastParameters(new OnePeer(7), List.of(a, b));
        assertThat(Tensors.toFloats(a)).containsOnly(7f);
        assertThat(Tensors.toFloats(b)).containsOnly(7f);
        assertThat(a.requires_grad()).isTrue();
    }
}
