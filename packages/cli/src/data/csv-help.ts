/** The column that holds the class label in training data, and that rows to predict may keep. */
export const LABEL_COLUMN = 'label';

/**
 * The CSV rule as --help states it. It lives apart from the parser (csv.ts) so that the help, which
 * every lockstep start builds, loads no parsing code.
 */
export const CSV_HELP = `CSV files (csv:FILE and predict --input): the first line names the columns, and no name may be a
number (a first line that reads as data is refused, never guessed); each later line is one sample of
numbers. To train, the label is the column named "${LABEL_COLUMN}", else the last; predict leaves a
"${LABEL_COLUMN}" column out. A CSV given to a checkpoint must have the columns it trained on, in that order.`;
