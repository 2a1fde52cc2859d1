package org.diffusion4j.distributed;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.bytedeco.pytorch.Tensor;
import org.diffusion4j.tensor.Tensors;
import org.diffusion4j.tensor.Torch;
import org.diffusion4j.testing.ChildJvm;
import org.diffusion4j.testing.Ports;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Two ranks in two threads of this JVM, talking over loopback through a real TCPStore and Gloo mesh. */
class GlooGroupTest {
    @BeforeAll
    static void init() {
        Torch.init();
    }

    private static DistConfig rank(int r, int world, int port, int timeoutSeconds) {
        return TwoRanks.config(r, world, port, timeoutSeconds);
    }

    private static <T> List<T> twoRanks(Function<GlooGroup, T> body) throws Exception {
        return TwoRanks.run(body);
    }

    @Test
    void sumsBroadcastsAndExchanges() throws Exception {
        List<float[][]> out = twoRanks(g -> {
            Tensor mine = Tensors.fromFloats(new float[] {g.rank() + 1, 10 * (g.rank() + 1), -1}, 3);
            g.allReduceSum(mine).await();
            Tensor b = Tensors.fromFloats(new float[] {g.rank() + 5, g.rank() + 6}, 2);
            g.broadcast(b, 1);
            List<String> names = g.exchange("name", "rank-" + g.rank());
            assertThat(names).containsExactly("rank-0", "rank-1");
            assertThat(g.worldSize()).isEqualTo(2);
            return new float[][] {Tensors.toFloats(mine), Tensors.toFloats(b)};
        });
        for (float[][] r : out) {
            assertThat(r[0]).containsExactly(3f, 30f, -2f);
            assertThat(r[1]).containsExactly(6f, 7f);
        }
    }

    @Test
    void refusesTensorsThatAreNotFlatFloat() throws Exception {
        List<String> errors = twoRanks(g -> {
            try {
                g.allReduceSum(Tensors.fromFloats(new float[4], 2, 2));
                return "accepted";
            } catch (IllegalArgumentException e) {
                return e.getMessage();
            }
        });
        assertThat(errors).allSatisfy(m -> assertThat(m).contains("contiguous float32 [N]"));
    }

    /**
     * Groups used, dropped and collected by the GC, round after round, in a child JVM whose glibc keeps no per-thread
     * cache, so a freed native object lands in the bin list that glibc checks: the store used to be deleted by
     * JavaCPP while the Gloo group still held it, and the group's destructor then wrote into the freed memory
     * ("corrupted double-linked list", in 2 of 3 runs of this churn).
     */
    @Test
    void groupsCollectedByTheGcLeaveTheHeapIntact(@TempDir Path logs)
            throws Exception {
        Process p = ChildJvm.start(ChildJvm.command(
                GlooChurn.class.getName(), "8"), logs, "churn",
                Map.of("GLIBC_TUNABLES", "glibc.malloc.tcache_count=0"));
        int code = ChildJvm.await(p, 300);
        String err = Files.readString(logs.resolve("churn.err"));
        assertThat(code).as(err.lines().filter(l -> !l.startsWith("[W") && !l.startsWith("frame #"))
                .collect(Collectors.joining("\n"))).isZero();
        assertThat(Files.readString(logs.resolve("churn.out"))).contains("done");
    }

    @Test
    void aRankThatNeverArrivesIsReportedAfterTheTimeout() throws Exception {
        int port = Ports.free();
        long start = System.nanoTime();
        assertThatThrownBy(() -> GlooGroup.connect(rank(0, 2, port, 3)))
                .isInstanceOf(DistributedException.class)
                .hasMessageContaining("rank 0 of 2")
                .hasMessageContaining("within 3 s");
        assertThat((System.nanoTime() - start) / 1e9).isLessThan(60);
        assertThatThrownBy(() -> GlooGroup.connect(rank(1, 2, Ports.free(), 2)))
                .isInstanceOf(DistributedException.class)
                .hasMessageContaining("rank 1 of 2: cannot reach the rendezvous store at 127.0.0.1:");
    }
}
