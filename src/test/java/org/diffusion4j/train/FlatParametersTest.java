package org.diffusion4j.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.diffusion4j.tensor.Rng;
import org.diffusion4j.tensor.Tensors;
import org.diffusion4j.tensor.Torch;
import org.junit.jupiter.api.Test;

class FlatParametersTest {
    private static Tensor param(Rng rng, long... shape) {
        return rng.randn(shape).requires_grad_(true);
    }

    @Test
    void parametersBecomeViewsOfOneBufferKeepingTheirValuesShapesAndGradients() {
        Torch.init();
        try (PointerScope scope = new PointerScope()) {
            Rng rng = Rng.of(1);
            Tensor a = param(rng, 3, 2);
            Tensor b = param(rng, 4);
            Tensor c = param(rng, 2, 1, 2);
            float[] before = concat(a, b, c);
            FlatParameters flat = FlatParameters.of(List.of(a, b, c));

            assertThat(flat.size()).isEqualTo(14);
            assertThat(Tensors.toFloats(flat.values())).containsExactly(before);
            assertThat(a.sizes().vec().get()).containsExactly(3, 2);
            assertThat(c.sizes().vec().get()).containsExactly(2, 1, 2);
            for (Tensor p : List.of(a, b, c)) {
                assertThat(p.is_alias_of(flat.values())).isTrue();
                assertThat(p.requires_grad()).isTrue();
                assertThat(p.is_leaf()).isTrue();
            }
            // Writing the buffer writes the parameters, and the reverse.
            try (NoGradGuard guard = new NoGradGuard()) {
                flat.values().narrow(0, 6, 4).fill_(Tensors.scalar(7));
                a.fill_(Tensors.scalar(-1));
            }
            assertThat(Tensors.toFloats(b)).containsExactly(7, 7, 7, 7);
            assertThat(Tensors.toFloats(flat.values().narrow(0, 0, 6))).containsOnly(-1);

            // Autograd still reaches them, and the gradients come back in parameter order.
            a.mul(Tensors.scalar(2)).sum().add(b.mul(b).sum()).add(c.sum()).backward();
            float[] grad = Tensors.toFloats(flat.gradients());
            assertThat(grad).containsExactly(2, 2, 2, 2, 2, 2, 14, 14, 14, 14, 1, 1, 1, 1);
        }
    }

    @Test
    void gradientsAreNullWhileSomeParameterHasNone() {
        Torch.init();
        try (PointerScope scope = new PointerScope()) {
            Rng rng = Rng.of(2);
            Tensor used = param(rng, 3);
            Tensor unused = param(rng, 2);
            FlatParameters flat = FlatParameters.of(List.of(used, unused));
            used.sum().backward();
            assertThat(flat.gradients()).isNull();
        }
    }

    @Test
    void viewsShapeABufferLikeTheParameters() {
        Torch.init();
        try (PointerScope scope = new PointerScope()) {
            Rng rng = Rng.of(3);
            FlatParameters flat = FlatParameters.of(List.of(param(rng, 2, 2), param(rng, 3)));
            Tensor buffer = flat.zeros();
            List<Tensor> views = flat.views(buffer);
            assertThat(views.get(0).sizes().vec().get()).containsExactly(2, 2);
            assertThat(views.get(1).sizes().vec().get()).containsExactly(3);
            views.get(1).fill_(Tensors.scalar(5));
            assertThat(Tensors.toFloats(buffer)).containsExactly(0, 0, 0, 0, 5, 5, 5);
            assertThatThrownBy(() -> flat.views(torch.zeros(6))).hasMessageContaining("expected a [7] buffer");
        }
    }

    @Test
    void refusesWhatCannotShareOneBuffer() {
        Torch.init();
        try (PointerScope scope = new PointerScope()) {
            assertThat(FlatParameters.of(List.of())).isNull();
            Tensor f = torch.zeros(2).requires_grad_(true);
            Tensor d = torch.zeros(2).to(torch.ScalarType.Double).requires_grad_(true);
            assertThat(FlatParameters.of(List.of(f, d))).isNull();
            // Left as they were.
            assertThat(f.is_alias_of(d)).isFalse();
            assertThat(d.scalar_type().value).isEqualTo(torch.ScalarType.Double.value);
        }
    }

    @Test
    void aParameterGivenNewStorageIsCaughtBeforeTheBufferIsTrainedInstead() {
        Torch.init();
        try (PointerScope scope = new PointerScope()) {
            Rng rng = Rng.of(4);
            Tensor a = param(rng, 2);
            FlatParameters flat = FlatParameters.of(List.of(a, param(rng, 2)));
            // What moving the module to another device does to a parameter.
            try (NoGradGuard guard = new NoGradGuard()) {
                a.set_(torch.zeros(2));
            }
            assertThatThrownBy(flat::gradients).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("given new storage after the trainer was built");
        }
    }

    private static float[] concat(Tensor... ts) {
        int n = 0;
        for (Tensor t : ts) {
            n += (int) t.numel();
        }
        float[] out = new float[n];
        int at = 0;
        for (Tensor t : ts) {
            float[] v = Tensors.toFloats(t.detach());
            System.arraycopy(v, 0, out, at, v.length);
            at += v.length;
        }
        return out;
    }
}
