// What lipvae knows about its datasets: file names, the official files'
// checksums, where they live by default and where they can be downloaded.
// `gzSha256` is the hash of the official .gz file (table in docs/architecture.md, 'Data');
// `sha256` is the hash of its decompressed IDX content, which we verify, so that a
// re-compressed or unzipped copy of the official data is accepted too.
import path from "node:path";
import { projectRoot } from "../paths.js";

export const datasetNames = ["mnist", "fashion-mnist"] as const;
export type DatasetName = (typeof datasetNames)[number];

export const fileRoles = ["train-images", "train-labels", "test-images", "test-labels"] as const;
export type FileRole = (typeof fileRoles)[number];

export interface OfficialFile {
  /** File name without .gz (the uncompressed name, as torchvision's raw/ folder has it). */
  name: string;
  items: number;
  gzBytes: number;
  gzSha256: string;
  /** Bytes of the decompressed IDX file. */
  bytes: number;
  sha256: string;
}

export interface DatasetInfo {
  name: DatasetName;
  title: string;
  /** True for datasets shipped in data/ of the repository. */
  shipped: boolean;
  /** torchvision's folder name, so that --data-dir may point at a torchvision root. */
  torchvisionFolder: string;
  files: Record<FileRole, OfficialFile>;
  /** Base URLs tried in order by `lipvae data fetch`. */
  mirrors: string[];
}

export const IMAGE_ROWS = 28;
export const IMAGE_COLS = 28;
export const IMAGE_SIZE = IMAGE_ROWS * IMAGE_COLS;
export const NUM_CLASSES = 10;
/** Reference split (docs/reference-code.md, 'Data'): train = first 54,000 official training images, validation = the rest. */
export const TRAIN_SIZE = 54_000;
export const VALIDATION_SIZE = 6_000;

export const datasets: Record<DatasetName, DatasetInfo> = {
  mnist: {
    name: "mnist",
    title: "MNIST",
    shipped: true,
    torchvisionFolder: "MNIST",
    mirrors: ["https://ossci-datasets.s3.amazonaws.com/mnist/", "https://storage.googleapis.com/cvdf-datasets/mnist/"],
    files: {
      "train-images": {
        name: "train-images-idx3-ubyte", items: 60_000,
        gzBytes: 9_912_422, gzSha256: "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
        bytes: 47_040_016, sha256: "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
      },
      "train-labels": {
        name: "train-labels-idx1-ubyte", items: 60_000,
        gzBytes: 28_881, gzSha256: "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
        bytes: 60_008, sha256: "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
      },
      "test-images": {
        name: "t10k-images-idx3-ubyte", items: 10_000,
        gzBytes: 1_648_877, gzSha256: "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        bytes: 7_840_016, sha256: "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
      },
      "test-labels": {
        name: "t10k-labels-idx1-ubyte", items: 10_000,
        gzBytes: 4_542, gzSha256: "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
        bytes: 10_008, sha256: "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
      },
    },
  },
  "fashion-mnist": {
    name: "fashion-mnist",
    title: "Fashion-MNIST",
    shipped: false,
    torchvisionFolder: "FashionMNIST",
    mirrors: [
      "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
      "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
    ],
    files: {
      "train-images": {
        name: "train-images-idx3-ubyte", items: 60_000,
        gzBytes: 26_421_880, gzSha256: "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
        bytes: 47_040_016, sha256: "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
      },
      "train-labels": {
        name: "train-labels-idx1-ubyte", items: 60_000,
        gzBytes: 29_515, gzSha256: "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
        bytes: 60_008, sha256: "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
      },
      "test-images": {
        name: "t10k-images-idx3-ubyte", items: 10_000,
        gzBytes: 4_422_102, gzSha256: "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
        bytes: 7_840_016, sha256: "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
      },
      "test-labels": {
        name: "t10k-labels-idx1-ubyte", items: 10_000,
        gzBytes: 5_148, gzSha256: "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
        bytes: 10_008, sha256: "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
      },
    },
  },
};

export function isDatasetName(name: string): name is DatasetName {
  return (datasetNames as readonly string[]).includes(name);
}

/** data/<name>/ in the checkout: MNIST is shipped there, and `lipvae data fetch` writes there by default. */
export function defaultDataDir(name: DatasetName): string {
  return path.join(projectRoot, "data", name);
}
