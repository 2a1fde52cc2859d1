package org.diffusion4j.distributed;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Supplier;
import org.bytedeco.javacpp.SizeTPointer;
import org.bytedeco.javacpp.chrono.Milliseconds;
import org.bytedeco.pytorch.BackendOptional;
import org.bytedeco.pytorch.BroadcastOptions;
import org.bytedeco.pytorch.GlooDeviceVector;
import org.bytedeco.pytorch.ProcessGroup;
import org.bytedeco.pytorch.ProcessGroupGloo;
import org.bytedeco.pytorch.TCPStore;
import org.bytedeco.pytorch.TCPStoreOptions;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.Work;
import org.bytedeco.pytorch.global.torch.DeviceType;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.bytedeco.pytorch.gloo.Device;
import org.diffusion4j.tensor.Scopes;

/**
 * A process group on libtorch's c10d: a {@code TCPStore} hosted by rank 0 for the rendezvous, and
 * {@code ProcessGroupGloo} for the collectives (the engine behind PyTorch's {@code init_process_group("gloo")}).
 * Errors from Gloo (a peer's connection closed, a timeout) surface as {@link DistributedException}s naming this rank.
 * The store lives as long as the process (see {@link #connect}); the mesh as long as this group and c10d's references
 * to it.
 */
public final class GlooGroup implements Collective {
    private final DistConfig config;
    private final TCPStore store;
    private final ProcessGroupGloo group;
    private final ProcessGroup processGroup;

    private GlooGroup(DistConfig config, TCPStore store, ProcessGroupGloo group) {
        this.config = config;
        this.store = store;
        this.group = group;
        // c10d's Reducer takes a ProcessGroup, the front that routes to a backend per device type: Gloo for CPU.
        this.processGroup = Scopes.detach(new ProcessGroup(config.rank(), config.worldSize()));
        processGroup.setBackend(DeviceType.CPU, ProcessGroup.BackendType.GLOO,
                new BackendOptional().put(group));
        processGroup.setDefaultBackend(ProcessGroup.BackendType.GLOO);
    }

    /**
     * Joins the job described by {@code config}: rank 0 starts the store on the master port, the others connect to
     * it, and all build the Gloo mesh. Fails after {@code config.timeout()} if not all ranks arrive.
     */
    public static GlooGroup connect(DistConfig config) {
        if (!config.distributed()) {
            throw new IllegalArgumentException("a Gloo group needs --world-size > 1");
        }
        Milliseconds timeout = Scopes.detach(new Milliseconds(config.timeout().toMillis()));
        TCPStore store;
        try {
            TCPStoreOptions options = new TCPStoreOptions();
            options.port((short) config.masterPort()).isServer(config.rank() == 0).waitWorkers(false)
                    .timeout(timeout);
            options.numWorkers(new SizeTPointer(1).put(config.worldSize()));
            store = Scopes.detach(new TCPStore(config.masterHost(), options));
        } catch (RuntimeException e) {
            throw new DistributedException(where(config) + (config.rank() == 0
                    ? "cannot host the rendezvous store on port " + config.masterPort()
                    : "cannot reach the rendezvous store at " + config.masterHost() + ":" + config.masterPort()
                    + " within " + config.timeout().toSeconds() + " s") + ": " + firstLine(e), e);
        }
        try {
            Device device;
            if (config.iface() != null) {
                device = ProcessGroupGloo.createDeviceForInterface(config.iface());
            } else if (config.loopbackMaster()) {
                device = ProcessGroupGloo.createDeviceForHostname("127.0.0.1");
            } else {
                device = ProcessGroupGloo.createDefaultDevice();
            }
            ProcessGroupGloo.Options options = Scopes.detach(new ProcessGroupGloo.Options(timeout));
            options.devices(Scopes.detach(new GlooDeviceVector(device)));
            options.threads(2);
            ProcessGroupGloo group = Scopes.detach(new ProcessGroupGloo(store, config.rank(), config.worldSize(),
                    options));
            // The presets build a TCPStore with plain new, so JavaCPP would delete it when this wrapper is collected,
            // while the Gloo group keeps using it through an intrusive_ptr that cannot count Java's reference: its
            // destructor then decremented a count inside freed memory, corrupting the heap. The store now lives as
            // long as the process, as the group's store does in PyTorch.
            store.deallocate(false);
            return new GlooGroup(config, store, group);
        } catch (RuntimeException e) {
            // No Gloo object holds the store after a failed construction: free it (and a rank 0's server) now.
            store.close();
            throw new DistributedException(where(config) + "cannot join the Gloo group of " + config.worldSize()
                    + " ranks within " + config.timeout().toSeconds() + " s: " + firstLine(e), e);
        }
    }

    private static String where(DistConfig config) {
        return "rank " + config.rank() + " of " + config.worldSize() + ": ";
    }

    @Override
    public int rank() {
        return config.rank();
    }

    @Override
    public int worldSize() {
        return config.worldSize();
    }

    @Override
    public Pending allReduceSum(Tensor flat) {
        requireFlat(flat);
        TensorVector tensors = new TensorVector(flat);
        Work work = run("all-reduce", () -> group.allreduce(tensors));
        return () -> {
            run("all-reduce", () -> {
                work._wait();
                return null;
            });
            // Keeps the vector (and through it the tensor) reachable until the reduction is done.
            tensors.size();
        };
    }

    /** The c10d front over this group's Gloo backend. */
    ProcessGroup processGroup() {
        return processGroup;
    }

    /**
     * c10d's Reducer, which overlaps the all-reduce with backward; {@code -Ddiffusion4j.gradientSync=buckets} selects
     * the after-backward {@link GradientBuckets} instead (for comparison in the benchmark).
     */
    @Override
    public GradientSync gradientSync(List<Tensor> params, long bucketBytes) {
        String mode = System.getProperty("diffusion4j.gradientSync", "overlap");
        return switch (mode) {
            case "overlap" -> new OverlappedReducer(this, processGroup, params, bucketBytes);
            case "buckets" -> Collective.super.gradientSync(params, bucketBytes);
            default -> throw new IllegalArgumentException("diffusion4j.gradientSync must be overlap or buckets, got '"
                    + mode + "'");
        };
    }

    @Override
    public void broadcast(Tensor flat, int root) {
        requireFlat(flat);
        if (root < 0 || root >= worldSize()) {
            throw new IllegalArgumentException("broadcast root " + root + " outside [0, " + worldSize() + ")");
        }
        run("broadcast", () -> {
            group.broadcast(new TensorVector(flat), new BroadcastOptions().rootRank(root))._wait();
            return null;
        });
    }

    @Override
    public List<String> exchange(String key, String value) {
        return run("exchange of " + key, () -> {
            store.set("d4j/" + key + "/" + rank(), value);
            List<String> out = new ArrayList<>(worldSize());
            for (int r = 0; r < worldSize(); r++) {
                // get() waits for the key up to the store's timeout.
                out.add(new String(store.get("d4j/" + key + "/" + r).get(), StandardCharsets.UTF_8));
            }
            // Rank 0 hosts the store: without this, it could finish and exit while a peer still reads.
            group.barrier()._wait();
            return out;
        });
    }

    private static void requireFlat(Tensor flat) {
        if (flat.dim() != 1 || !flat.is_contiguous() || flat.scalar_type().value
                != ScalarType.Float.value) {
            throw new IllegalArgumentException("collectives take a contiguous float32 [N] tensor, got "
                    + flat.scalar_type() + " " + Arrays.toString(flat.sizes().vec().get()));
        }
    }

    /** Runs {@code op}, turning a native failure into a {@link DistributedException} naming this rank and {@code what}. */
    <T> T run(String what, Supplier<T> op) {
        try {
            return op.get();
        } catch (DistributedException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new DistributedException(where(config) + what + " failed (a peer exited, or did not answer within "
                    + config.timeout().toSeconds() + " s): " + firstLine(e), e);
        }
    }

    /** c10d's messages carry a native backtrace after the first line; the user needs the first line. */
    private static String firstLine(RuntimeException e) {
        String m = String.valueOf(e.getMessage()).strip();
        int nl = m.indexOf('\n');
        return nl < 0 ? m : m.substring(0, nl);
    }
}
