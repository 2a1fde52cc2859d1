package org.diffusion4j.distributed;

import java.util.ArrayList;
import java.util.List;
import org.bytedeco.pytorch.ProcessGroup;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.diffusion4j.tensor.Scopes;
import org.diffusion4j.tensor.Tensors;
import org.diffusion4j.tensor.Torch;
import org.diffusion4j.testing.Ports;

/**
 * Builds, uses and drops Gloo groups (and one that times out) round after round, collecting them with the GC in
 * between while allocating: a native object freed while c10d still points at it shows up as a heap abort. Run in a
 * child JVM by {@link GlooGroupTest}; prints "done" when every round passed.
 */
final class GlooChurn {
    private GlooChurn() {}

    public static void main(String[] args) throws Exception {
        Torch.init();
        int rounds = Integer.parseInt(args[0]);
        for (int i = 0; i < rounds; i++) {
            // Each rank's c10d front outlives its GlooGroup (and the store wrapper in it), then goes too: the order
            // in which a collected store would have been freed before the group that uses it.
            List<ProcessGroup> fronts = new ArrayList<>(TwoRanks.run(g -> {
                Tensor t = Tensors.fromFloats(new float[] {1, 2, 3}, 3);
                g.allReduceSum(t).await();
                g.exchange("round", "rank-" + g.rank());
                if (Tensors.toFloats(t)[0] != 2f) {
                    throw new AssertionError("all-reduce gave " + Tensors.toFloats(t)[0]);
                }
                return g.processGroup();
            }));
            collect();
            fronts.clear();
            collect();
            if (i % 3 == 0) {
                try {
                    GlooGroup.connect(TwoRanks.config(0, 2, Ports.free(), 1));
                    throw new AssertionError("a lone rank 0 joined a group of 2");
                } catch (DistributedException expected) {
                    // the rank that never arrives
                }
            }
        }
        System.out.println("done");
    }

    /** Lets the GC and JavaCPP's deallocator thread free what is unreachable, allocating meanwhile. */
    private static void collect() throws InterruptedException {
        for (int j = 0; j < 5; j++) {
            System.gc();
            Thread.sleep(20);
            Scopes.run(() -> {
                Tensor x = torch.randn(500, 300);
                for (int k = 0; k < 20; k++) {
                    x = x.mul(x).add(x).tanh();
                }
            });
        }
    }
}
