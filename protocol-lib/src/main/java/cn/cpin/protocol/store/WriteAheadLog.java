package cn.cpin.protocol.store;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.CRC32C;

/**
 * The write-ahead log of {@link EmbeddedKeyValueStore}: a directory of segment files, each named
 * after the sequence number of its first record ({@code 00000000000000000042.wal}), holding
 * records framed as {@code length (int) · CRC32C (int) · payload}, where the payload is the
 * record's sequence number (long) followed by its body: the write's deletes and puts.
 *
 * <p>Appends and rotations are made by the store under its write lock; {@link #force()} by one
 * group-commit leader at a time, without that lock; {@link #retireBefore(long)} by the
 * checkpointer while it holds the leader's role, so that no fsync runs over a segment it closes.
 */
final class WriteAheadLog implements AutoCloseable {
  private static final Pattern SEGMENT = Pattern.compile("(\\d{20})\\.wal");
  private static final int HEADER = 8;
  // A length beyond this is a torn or corrupt frame, not a record (values are at most a few MiB).
  private static final int MAX_PAYLOAD = 1 << 30;

  /** A whole record read back: its sequence number, then deletes applied before puts. */
  record Entry(long sequence, List<String> deletes, Map<String, byte[]> puts) {}

  /** What {@link #recover} found: the last whole record, how many it replayed, what it cut. */
  record Replay(long lastSequence, int records, boolean tornTail) {}

  private static final class Segment {
    final long firstSequence;
    final Path path;
    final FileChannel channel;
    long size; // bytes appended, under the store's write lock
    volatile boolean sealed;
    boolean forcedSinceSealed; // leader only
    boolean unforced; // leader only: written since its last force
    boolean namedOnDisk; // leader only: the directory entry has been forced
    // Frames appended but not yet written to the file: the leader writes them, not the appender,
    // because a write(2) may wait for a running fsync of the same page.
    private byte[] pending = new byte[4096];
    private int pendingLength;

    Segment(long firstSequence, Path path, FileChannel channel) {
      this.firstSequence = firstSequence;
      this.path = path;
      this.channel = channel;
    }

    synchronized void add(byte[] frame) {
      if (pendingLength + frame.length > pending.length) {
        pending = Arrays.copyOf(pending, Math.max(pending.length * 2, pendingLength + frame.length));
      }
      System.arraycopy(frame, 0, pending, pendingLength, frame.length);
      pendingLength += frame.length;
    }

    /** The pending frames, handed over for writing, or null. */
    synchronized ByteBuffer take() {
      if (pendingLength == 0) {
        return null;
      }
      ByteBuffer out = ByteBuffer.wrap(Arrays.copyOf(pending, pendingLength));
      pendingLength = 0;
      if (pending.length > 1 << 20) {
        pending = new byte[4096];
      }
      return out;
    }
  }

  private final Path dir;
  // Oldest first; replaced whole (copy on write) so that the leader can take a snapshot.
  private volatile List<Segment> segments;

  private WriteAheadLog(Path dir, List<Segment> segments) {
    this.dir = dir;
    this.segments = List.copyOf(segments);
  }

  private static Segment newSegment(Path dir, long firstSequence) throws IOException {
    Path path = dir.resolve(String.format("%020d.wal", firstSequence));
    FileChannel channel = FileChannel.open(path, StandardOpenOption.CREATE_NEW,
        StandardOpenOption.WRITE);
    return new Segment(firstSequence, path, channel);
  }

  // ---- encoding ----

  /** The body of a record: deletes, then puts (a key both deleted and put ends up put). */
  static byte[] encode(Collection<String> deletes, Map<String, byte[]> puts) {
    List<byte[]> deleteKeys = new ArrayList<>(deletes.size());
    int size = 8;
    for (String key : deletes) {
      byte[] k = key.getBytes(StandardCharsets.UTF_8);
      deleteKeys.add(k);
      size += 4 + k.length;
    }
    List<byte[]> putKeys = new ArrayList<>(puts.size());
    for (Map.Entry<String, byte[]> e : puts.entrySet()) {
      byte[] k = e.getKey().getBytes(StandardCharsets.UTF_8);
      putKeys.add(k);
      size += 8 + k.length + e.getValue().length;
    }
    ByteBuffer out = ByteBuffer.allocate(size);
    out.putInt(deleteKeys.size());
    for (byte[] k : deleteKeys) {
      out.putInt(k.length).put(k);
    }
    out.putInt(putKeys.size());
    int i = 0;
    for (byte[] value : puts.values()) {
      byte[] k = putKeys.get(i++);
      out.putInt(k.length).put(k).putInt(value.length).put(value);
    }
    return out.array();
  }

  private static Entry decode(long sequence, ByteBuffer in) {
    int deleteCount = in.getInt();
    List<String> deletes = new ArrayList<>(deleteCount);
    for (int i = 0; i < deleteCount; i++) {
      deletes.add(string(in));
    }
    int putCount = in.getInt();
    Map<String, byte[]> puts = new LinkedHashMap<>();
    for (int i = 0; i < putCount; i++) {
      String key = string(in);
      byte[] value = new byte[in.getInt()];
      in.get(value);
      puts.put(key, value);
    }
    return new Entry(sequence, deletes, puts);
  }

  private static String string(ByteBuffer in) {
    byte[] bytes = new byte[in.getInt()];
    in.get(bytes);
    return new String(bytes, StandardCharsets.UTF_8);
  }

  // ---- writing ----

  /**
   * Appends one record to the current segment (in memory: the next {@link #force()} writes and
   * forces it); under the store's write lock.
   */
  void append(long sequence, byte[] body) {
    byte[] frame = new byte[HEADER + 8 + body.length];
    ByteBuffer out = ByteBuffer.wrap(frame);
    out.putInt(8 + body.length).putInt(0).putLong(sequence).put(body);
    CRC32C crc = new CRC32C();
    crc.update(frame, HEADER, 8 + body.length);
    out.putInt(4, (int) crc.getValue());
    Segment current = current();
    current.add(frame);
    current.size += frame.length;
  }

  /** Bytes in the current segment; under the write lock. */
  long currentSize() {
    return current().size;
  }

  /** Seals the current segment and starts one for records from {@code nextSequence}. */
  void rotate(long nextSequence) throws IOException {
    if (current().firstSequence == nextSequence) {
      return; // still empty (a rotation just before a crash left it): it already starts there
    }
    Segment next = newSegment(dir, nextSequence);
    current().sealed = true;
    List<Segment> now = new ArrayList<>(segments);
    now.add(next);
    segments = List.copyOf(now);
  }

  /**
   * Forces every record appended so far to disk: sealed segments not yet forced since they were
   * sealed, oldest first, then the current one. One caller at a time (the group-commit leader).
   */
  void force() throws IOException {
    boolean named = true;
    for (Segment s : segments) {
      named &= s.namedOnDisk;
    }
    if (!named) {
      forceDirectory(); // a new segment's name must survive a power loss too
    }
    for (Segment s : segments) {
      s.namedOnDisk = true;
      if (s.forcedSinceSealed) {
        continue;
      }
      boolean wasSealed = s.sealed; // then nothing more is added to it after take()
      ByteBuffer bytes = s.take();
      if (bytes != null) {
        while (bytes.hasRemaining()) {
          s.channel.write(bytes);
        }
        s.unforced = true;
      }
      if (s.unforced) {
        s.channel.force(false);
        s.unforced = false;
      }
      s.forcedSinceSealed = wasSealed;
    }
  }

  /**
   * Closes and deletes every segment that holds only records below {@code sequence} (all of them
   * are in a durable checkpoint). The caller holds the leader's role, so no force runs meanwhile.
   */
  void retireBefore(long sequence) throws IOException {
    List<Segment> keep = new ArrayList<>();
    List<Segment> retire = new ArrayList<>();
    List<Segment> all = segments;
    for (int i = 0; i < all.size(); i++) {
      boolean nextStartsInside = i + 1 < all.size() && all.get(i + 1).firstSequence <= sequence;
      (nextStartsInside ? retire : keep).add(all.get(i));
    }
    segments = List.copyOf(keep);
    for (Segment s : retire) {
      s.channel.close();
      Files.deleteIfExists(s.path);
    }
    if (!retire.isEmpty()) {
      // A deleted segment that came back after a power loss would be skipped (its records are
      // in the checkpoint), but forcing the directory keeps the log as short as it looks.
      forceDirectory();
    }
  }

  private void forceDirectory() throws IOException {
    try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
      d.force(true);
    }
  }

  private Segment current() {
    List<Segment> all = segments;
    return all.get(all.size() - 1);
  }

  @Override
  public void close() throws IOException {
    IOException first = null;
    for (Segment s : segments) {
      try {
        s.channel.close();
      } catch (IOException e) {
        first = first == null ? e : first;
      }
    }
    if (first != null) {
      throw first;
    }
  }

  // ---- recovery ----

  /**
   * Replays the log of {@code dir} after {@code checkpoint} into {@code apply} and opens it for
   * appends after its last whole record.
   *
   * <p>Records must follow each other from {@code checkpoint + 1}. The log ends at the first
   * torn or CRC-failing frame (cut off here) unless the next segment continues it without a gap;
   * segments after a gap are deleted: nothing in them was acknowledged, because a write is
   * acknowledged only once every record before it is on disk. A log that starts after
   * {@code checkpoint + 1} means the store's file is older than the log's oldest record, which
   * loses acknowledged writes: that is refused, not repaired.
   */
  static WriteAheadLog recover(Path dir, long checkpoint, java.util.function.Consumer<Entry> apply,
      java.util.function.Consumer<Replay> report) throws IOException {
    long last = checkpoint;
    int records = 0;
    boolean torn = false;
    List<Path> files = segmentFiles(dir);
    List<Path> kept = new ArrayList<>();
    files:
    for (int f = 0; f < files.size(); f++) {
      Path file = files.get(f);
      long first = firstSequence(file);
      if (first > last + 1) {
        if (!torn) {
          throw new KeyValueStoreException("the store's file holds writes up to " + checkpoint
              + " but its write-ahead log " + dir + " starts at " + first
              + ": writes in between are lost; refusing to open");
        }
        // A gap after a torn frame: this segment and later ones were never acknowledged.
        for (Path later : files.subList(f, files.size())) {
          Files.delete(later);
        }
        torn = true;
        break;
      }
      kept.add(file);
      ByteBuffer in = ByteBuffer.wrap(Files.readAllBytes(file));
      while (in.remaining() > 0) {
        int length = in.remaining() < HEADER ? -1 : in.getInt(in.position());
        boolean whole = length >= 8 && length <= MAX_PAYLOAD && length <= in.remaining() - HEADER;
        if (whole) {
          CRC32C check = new CRC32C();
          check.update(in.array(), in.position() + HEADER, length);
          whole = (int) check.getValue() == in.getInt(in.position() + 4);
        }
        long sequence = whole ? in.getLong(in.position() + HEADER) : -1;
        if (!whole || sequence > last + 1) {
          // Cut the torn tail off, so that appends and later replays start from whole records.
          try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.truncate(in.position());
            ch.force(true);
          }
          torn = true;
          continue files; // the next segment, if any, continues the log only without a gap
        }
        ByteBuffer payload = in.slice(in.position() + HEADER + 8, length - 8);
        in.position(in.position() + HEADER + length);
        if (sequence <= last) {
          continue; // already in the checkpoint
        }
        apply.accept(decode(sequence, payload));
        last = sequence;
        records++;
      }
    }
    report.accept(new Replay(last, records, torn));
    // Appends go on in the last segment, or in a new one if there is none.
    List<Segment> segments = new ArrayList<>();
    for (Path file : kept) {
      FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE,
          StandardOpenOption.APPEND);
      Segment segment = new Segment(firstSequence(file), file, channel);
      segment.size = channel.size();
      segment.sealed = true;
      segment.unforced = true; // forced once more by the first leader: a crash may have left them
      segments.add(segment);
    }
    if (segments.isEmpty()) {
      segments.add(newSegment(dir, last + 1));
    }
    segments.get(segments.size() - 1).sealed = false;
    return new WriteAheadLog(dir, segments);
  }

  /** The segment files of {@code dir}, oldest first. */
  static List<Path> segmentFiles(Path dir) throws IOException {
    List<Path> out = new ArrayList<>();
    try (DirectoryStream<Path> stream = Files.newDirectoryStream(dir)) {
      for (Path p : stream) {
        if (SEGMENT.matcher(p.getFileName().toString()).matches()) {
          out.add(p);
        }
      }
    }
    out.sort(null); // zero-padded names sort by number
    return out;
  }

  private static long firstSequence(Path file) {
    Matcher m = SEGMENT.matcher(file.getFileName().toString());
    if (!m.matches()) {
      throw new IllegalArgumentException(file.toString());
    }
    return Long.parseLong(m.group(1));
  }
}
